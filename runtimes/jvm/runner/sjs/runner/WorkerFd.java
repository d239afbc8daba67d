package sjs.runner;

import java.io.FileDescriptor;
import java.lang.reflect.Field;

/**
 * Wraps the inherited socket (fd 3, or $SJS_WORKER_FD) in a FileDescriptor. Java has no public
 * way to adopt an inherited descriptor, so set FileDescriptor's private {@code fd} field: by
 * reflection where the daemon opened java.io to us (--add-opens java.base/java.io=ALL-UNNAMED),
 * else through sun.misc.Unsafe, which needs no opening on Java 8 to 17+.
 */
final class WorkerFd {
  private WorkerFd() {}

  static int number() {
    String env = System.getenv("SJS_WORKER_FD");
    if (env == null || env.trim().isEmpty()) return 3;
    try {
      return Integer.parseInt(env.trim());
    } catch (NumberFormatException e) {
      throw new IllegalStateException("SJS_WORKER_FD is not a number: " + env);
    }
  }

  static FileDescriptor open(int fd) throws Exception {
    FileDescriptor d = new FileDescriptor();
    Field f = FileDescriptor.class.getDeclaredField("fd");
    try {
      f.setAccessible(true);
      f.setInt(d, fd);
      return d;
    } catch (RuntimeException notOpened) { // InaccessibleObjectException on Java 9+ without --add-opens
      try {
        setWithUnsafe(d, f, fd);
        Log.info("java.io is not opened to the runner: adopted fd " + fd + " through sun.misc.Unsafe");
        return d;
      } catch (Throwable t) {
        IllegalStateException e = new IllegalStateException(
            "cannot adopt fd " + fd + ": run java with --add-opens java.base/java.io=ALL-UNNAMED");
        e.addSuppressed(notOpened);
        e.addSuppressed(t);
        throw e;
      }
    }
  }

  private static void setWithUnsafe(FileDescriptor d, Field f, int fd) throws Exception {
    Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
    Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
    theUnsafe.setAccessible(true);
    Object unsafe = theUnsafe.get(null);
    long offset = (Long) unsafeClass.getMethod("objectFieldOffset", Field.class).invoke(unsafe, f);
    unsafeClass.getMethod("putInt", Object.class, long.class, int.class).invoke(unsafe, d, offset, fd);
  }
}
