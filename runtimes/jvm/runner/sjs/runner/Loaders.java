package sjs.runner;

import java.io.File;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.ZipFile;

/**
 * One class loader per distinct list of binary versions, kept for the life of the process.
 *
 * <p>The key is the binaries' sha256s joined, so re-uploading a jar (new content, new sha) gets a
 * fresh loader that sees the new classes, while jobs naming the old version still get the old
 * loader. Loaders are never closed: a named object may still hold classes from them.
 */
final class Loaders {
  /** A binary that cannot be used: missing, unreadable, not a jar. */
  static final class BadBinary extends Exception {
    private static final long serialVersionUID = 1L;

    BadBinary(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** A binary as the run message names it. */
  static final class Binary {
    final String name;
    final String sha256;
    final String path;

    Binary(String name, String sha256, String path) {
      this.name = name;
      this.sha256 = sha256;
      this.path = path;
    }
  }

  private final ClassLoader parent;
  private final Map<String, ClassLoader> cache = new ConcurrentHashMap<String, ClassLoader>();
  private final Spark spark;

  Loaders(ClassLoader parent, Spark spark) {
    this.parent = parent;
    this.spark = spark;
  }

  /** The loader for these binaries; the runner's own loader when there are none. */
  ClassLoader loaderFor(List<Binary> binaries) throws BadBinary {
    if (binaries.isEmpty()) return parent;
    String key = key(binaries);
    ClassLoader cached = cache.get(key);
    if (cached != null) return cached;
    synchronized (this) { // two jobs of a new version at once must share one loader
      cached = cache.get(key);
      if (cached != null) return cached;
      ClassLoader loader = create(binaries);
      cache.put(key, loader);
      return loader;
    }
  }

  private static String key(List<Binary> binaries) {
    StringBuilder b = new StringBuilder();
    for (Binary bin : binaries) {
      if (b.length() > 0) b.append(',');
      // without a sha (a hand-written run message) the path is the best identity there is
      b.append(bin.sha256 != null && !bin.sha256.isEmpty() ? bin.sha256 : "path:" + bin.path);
    }
    return b.toString();
  }

  private ClassLoader create(List<Binary> binaries) throws BadBinary {
    List<URL> urls = new ArrayList<URL>();
    for (Binary bin : binaries) {
      String label = bin.name != null ? bin.name : bin.path;
      if (bin.path == null || bin.path.isEmpty()) throw new BadBinary("binary " + label + " has no path", null);
      File f = new File(bin.path);
      if (!f.exists()) throw new BadBinary("binary " + label + ": " + bin.path + " does not exist", null);
      if (!f.isDirectory()) {
        // URLClassLoader would only fail later, with a bare ClassNotFoundException: check now
        try {
          new ZipFile(f).close();
        } catch (IOException e) {
          throw new BadBinary("binary " + label + " is not a readable jar: " + bin.path + ": " + e.getMessage(), e);
        }
      }
      try {
        urls.add(f.toURI().toURL());
      } catch (IOException e) {
        throw new BadBinary("binary " + label + ": bad path " + bin.path, e);
      }
    }
    Log.info("new class loader for " + names(binaries));
    URLClassLoader loader = new URLClassLoader(urls.toArray(new URL[0]), parent);
    if (spark.present()) {
      // executors load task classes from jars added to the SparkContext, not from our loader
      for (Binary bin : binaries) spark.addJar(bin.path);
    }
    return loader;
  }

  static String names(List<Binary> binaries) {
    StringBuilder b = new StringBuilder();
    for (Binary bin : binaries) {
      if (b.length() > 0) b.append(", ");
      b.append(bin.name != null ? bin.name : bin.path);
      if (bin.sha256 != null && bin.sha256.length() >= 12) b.append(" (").append(bin.sha256, 0, 12).append(')');
    }
    return b.toString();
  }
}
