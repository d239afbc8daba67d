package sjs.runner;

/** The runner's own notes, on stderr: that is the context's log. */
final class Log {
  private Log() {}

  static void info(String message) {
    System.err.println("[sjs-runner] " + message);
  }

  static void warn(String message) {
    System.err.println("[sjs-runner] WARN " + message);
  }
}
