package sjs.runner;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import sjs.api.JobContext;
import sjs.api.Step;

/**
 * The steps of a step library: the {@code @sjs.api.Step} methods of the classes in one jar (or
 * class directory), loaded through a class loader that can see the jar and its dependencies.
 * Classes are loaded with {@code Class.forName(name, false, loader)}, so no static initialiser
 * runs while the library is scanned; only classes whose bytes mention the annotation are loaded
 * at all, and a class that cannot be loaded is skipped. The runner (pipelines) and
 * {@link StepList} (sjs binary steps) share this code.
 */
final class StepLibrary {
  static final String NO_STEPS_HINT = "annotate public static methods with @sjs.api.Step";
  /** The annotation's type descriptor: in the constant pool of every class that uses it. */
  private static final byte[] MARKER = "Lsjs/api/Step;".getBytes(StandardCharsets.UTF_8);
  private static final List<Class<?>> ARGUMENT_TYPES = Arrays.<Class<?>>asList(String.class, int.class, Integer.class,
      long.class, Long.class, double.class, Double.class, boolean.class, Boolean.class, List.class, Collection.class,
      Iterable.class, Map.class, Object.class);

  /** One annotated method. */
  static final class Def {
    final String name;
    final Method method;
    final String function; // "TextSteps.words"
    final String module;   // "sjs.examples.TextSteps"
    final List<String> params; // the step's arguments: "int n"
    final String doc;
    /** Why the method cannot be called as a step, or null. */
    final String defect;

    Def(String name, Method method, String function, String module, List<String> params, String doc, String defect) {
      this.name = name;
      this.method = method;
      this.function = function;
      this.module = module;
      this.params = params;
      this.doc = doc;
      this.defect = defect;
    }

    String qualified() {
      return module + "." + method.getName();
    }

    /** The step's argument types (the parameters after ctx and data). */
    Class<?>[] argumentTypes() {
      Class<?>[] all = method.getParameterTypes();
      return all.length < 2 ? new Class<?>[0] : Arrays.copyOfRange(all, 2, all.length);
    }
  }

  /** By step name (the first method of a name; classes in name order). */
  final Map<String, Def> steps = new TreeMap<String, Def>();
  /** Every annotated method, sorted by step name, then class. */
  final List<Def> all = new ArrayList<Def>();
  /** Library-wide problems: two methods under one step name. */
  final List<String> problems = new ArrayList<String>();
  /** Classes that mention @Step but could not be loaded or inspected: "name: why". */
  final List<String> skipped = new ArrayList<String>();

  private StepLibrary() {}

  /** Scans {@code jar} (a jar file or a class directory), loading its classes through {@code loader}. */
  static StepLibrary scan(File jar, ClassLoader loader) throws IOException {
    StepLibrary lib = new StepLibrary();
    for (String className : candidates(jar)) {
      Class<?> cls;
      Method[] methods;
      try {
        cls = Class.forName(className, false, loader);
        methods = cls.getDeclaredMethods();
      } catch (ClassNotFoundException | LinkageError | SecurityException e) {
        lib.skipped.add(className + ": " + e);
        continue;
      }
      Arrays.sort(methods, new Comparator<Method>() {
        @Override
        public int compare(Method a, Method b) {
          int c = a.getName().compareTo(b.getName());
          return c != 0 ? c : Arrays.toString(a.getParameterTypes()).compareTo(Arrays.toString(b.getParameterTypes()));
        }
      });
      for (Method m : methods) {
        if (m.isSynthetic() || m.isBridge()) continue;
        Step step;
        try {
          step = m.getAnnotation(Step.class);
        } catch (RuntimeException | LinkageError e) { // a malformed annotation
          lib.skipped.add(className + "." + m.getName() + ": " + e);
          continue;
        }
        if (step == null) continue;
        lib.add(define(cls, m, step));
      }
    }
    Collections.sort(lib.all, new Comparator<Def>() {
      @Override
      public int compare(Def a, Def b) {
        int c = a.name.compareTo(b.name);
        return c != 0 ? c : a.qualified().compareTo(b.qualified());
      }
    });
    return lib;
  }

  private void add(Def d) {
    all.add(d);
    Def first = steps.get(d.name);
    if (first == null) {
      steps.put(d.name, d);
    } else {
      problems.add("two methods are registered as step \"" + d.name + "\": " + first.qualified() + " and " + d.qualified());
    }
  }

  /** The message for a library without steps. */
  static String noSteps(String binaryName) {
    return "binary \"" + binaryName + "\" has no steps: " + NO_STEPS_HINT;
  }

  // ---------------------------------------------------------------- one method

  private static Def define(Class<?> cls, Method m, Step step) {
    String name = step.value().isEmpty() ? m.getName() : step.value();
    String module = cls.getName();
    String pkg = cls.getPackage() != null ? cls.getPackage().getName() : "";
    String local = pkg.isEmpty() ? module : module.substring(pkg.length() + 1);
    String function = local.replace('$', '.') + "." + m.getName();
    Parameter[] ps = m.getParameters();
    Type[] generic;
    try {
      generic = m.getGenericParameterTypes();
    } catch (RuntimeException | LinkageError e) { // a broken Signature attribute: the raw types will do
      generic = m.getParameterTypes();
    }
    List<String> params = new ArrayList<String>();
    for (int i = 2; i < ps.length; i++) {
      params.add(typeName(i < generic.length ? generic[i] : ps[i].getType()) + " " + ps[i].getName());
    }
    return new Def(name, m, function, module, params, firstLine(step.doc()), defect(m, ps));
  }

  private static String defect(Method m, Parameter[] ps) {
    int mod = m.getModifiers();
    if (!Modifier.isStatic(mod) || !Modifier.isPublic(mod)) return "the method must be public static";
    Class<?>[] types = m.getParameterTypes();
    if (types.length < 2 || !types[0].isAssignableFrom(JobContext.class) || types[1].isPrimitive()) {
      return "its first two parameters must be (JobContext ctx, Object data)";
    }
    for (int i = 2; i < types.length; i++) {
      if (!ARGUMENT_TYPES.contains(types[i])) {
        return "parameter " + typeName(types[i]) + " " + ps[i].getName() + " has a type a pipeline cannot give"
            + " (String, int, long, double, boolean, their boxes, List, Map or Object)";
      }
    }
    return null;
  }

  /** "int", "String", "List<String>", "Map<String, ?>". */
  static String typeName(Type t) {
    if (t instanceof Class) {
      Class<?> c = (Class<?>) t;
      if (c.isArray()) return typeName(c.getComponentType()) + "[]";
      return c.getSimpleName().isEmpty() ? c.getName() : c.getSimpleName();
    }
    if (t instanceof ParameterizedType) {
      ParameterizedType p = (ParameterizedType) t;
      StringBuilder b = new StringBuilder(typeName(p.getRawType())).append('<');
      Type[] args = p.getActualTypeArguments();
      for (int i = 0; i < args.length; i++) {
        if (i > 0) b.append(", ");
        b.append(typeName(args[i]));
      }
      return b.append('>').toString();
    }
    if (t instanceof GenericArrayType) return typeName(((GenericArrayType) t).getGenericComponentType()) + "[]";
    if (t instanceof WildcardType) {
      WildcardType w = (WildcardType) t;
      if (w.getLowerBounds().length > 0) return "? super " + typeName(w.getLowerBounds()[0]);
      Type[] upper = w.getUpperBounds();
      if (upper.length == 0 || upper[0] == Object.class) return "?";
      return "? extends " + typeName(upper[0]);
    }
    return t.toString(); // a type variable
  }

  private static String firstLine(String doc) {
    for (String line : doc.split("\r?\n")) {
      if (!line.trim().isEmpty()) return line.trim();
    }
    return "";
  }

  // ---------------------------------------------------------------- the jar's classes

  /** The names of the classes whose bytes mention @sjs.api.Step, sorted. */
  private static List<String> candidates(File jar) throws IOException {
    List<String> out = new ArrayList<String>();
    if (jar.isDirectory()) {
      walk(jar, "", out);
    } else {
      ZipFile zip = new ZipFile(jar);
      try {
        for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements();) {
          ZipEntry entry = e.nextElement();
          String className = className(entry.getName());
          if (entry.isDirectory() || className == null) continue;
          InputStream in = zip.getInputStream(entry);
          try {
            if (mentionsStep(in)) out.add(className);
          } finally {
            in.close();
          }
        }
      } finally {
        zip.close();
      }
    }
    Collections.sort(out);
    return out;
  }

  private static void walk(File dir, String prefix, List<String> out) throws IOException {
    File[] files = dir.listFiles();
    if (files == null) throw new IOException("cannot list " + dir);
    for (File f : files) {
      String rel = prefix + f.getName();
      if (f.isDirectory()) {
        walk(f, rel + "/", out);
        continue;
      }
      String className = className(rel);
      if (className == null) continue;
      InputStream in = new FileInputStream(f);
      try {
        if (mentionsStep(in)) out.add(className);
      } finally {
        in.close();
      }
    }
  }

  /** "a/b/C$D.class" to "a.b.C$D"; null for anything that is not a loadable class. */
  private static String className(String entry) {
    if (!entry.endsWith(".class") || entry.startsWith("META-INF/")) return null;
    String name = entry.substring(0, entry.length() - ".class".length());
    if (name.endsWith("module-info") || name.endsWith("package-info")) return null;
    return name.replace('/', '.');
  }

  private static boolean mentionsStep(InputStream in) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    byte[] chunk = new byte[8192];
    for (int n; (n = in.read(chunk)) > 0;) buf.write(chunk, 0, n);
    byte[] b = buf.toByteArray();
    outer:
    for (int i = 0; i + MARKER.length <= b.length; i++) {
      for (int j = 0; j < MARKER.length; j++) {
        if (b[i + j] != MARKER[j]) continue outer;
      }
      return true;
    }
    return false;
  }
}
