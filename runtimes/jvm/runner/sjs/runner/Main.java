package sjs.runner;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Map;

/**
 * The resident worker of the jvm and spark runtimes. The daemon starts it with a socket as
 * fd 3; it says hello, then runs jobs as the daemon asks (docs/worker-protocol.md). Its
 * stdout and stderr are the context's log.
 */
public final class Main {
  /**
   * The worker protocol version this runner speaks: sjsd refuses any other than its own
   * (k_protocol_version in common/include/sjs/worker_protocol.hpp; RunnerTest checks they match).
   */
  static final int PROTOCOL = 1;
  private static final long EXIT_GRACE_MILLIS = 5000; // shutdown hooks (Spark's) get this long

  private Main() {}

  public static void main(String[] args) {
    int fdNumber;
    FileDescriptor fd;
    try {
      fdNumber = WorkerFd.number();
      fd = WorkerFd.open(fdNumber);
    } catch (Throwable t) {
      System.err.println("sjs-runner: " + t.getMessage());
      t.printStackTrace();
      System.exit(2);
      return;
    }
    String context = contextName();
    boolean wantSpark = "1".equals(System.getenv("SJS_SPARK"));
    Spark spark;
    try {
      spark = wantSpark ? Spark.start("sjs-" + context) : Spark.none();
    } catch (Throwable t) {
      System.err.println("sjs-runner: cannot start Spark: " + t);
      t.printStackTrace();
      System.exit(1);
      return;
    }

    Channel channel = new Channel(new FileOutputStream(fd));
    Worker worker = new Worker(channel, spark, context);
    channel.send(hello(spark, wantSpark));
    Log.info("ready: context " + context + ", fd " + fdNumber + (spark.present() ? ", Spark " + spark.describe() : ""));

    DataInputStream in = new DataInputStream(new BufferedInputStream(new FileInputStream(fd), 1 << 16));
    while (true) {
      String payload;
      try {
        payload = Frames.read(in);
      } catch (Frames.TooLargeFrame e) {
        worker.error(e.getMessage());
        continue;
      } catch (IOException e) {
        payload = null; // a frame cut short: the daemon is gone all the same
      }
      if (payload == null) {
        Log.info("the daemon closed the connection: exiting");
        exit(0);
        return;
      }
      Object message;
      try {
        message = Json.parse(payload);
      } catch (IllegalArgumentException e) {
        worker.error("cannot parse message: " + e.getMessage());
        continue;
      }
      if (!(message instanceof Map) || !(((Map<?, ?>) message).get("type") instanceof String)) {
        worker.error("a message must be a JSON object with a string type");
        continue;
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> m = (Map<String, Object>) message;
      boolean more;
      try {
        more = worker.handle(m);
      } catch (RuntimeException e) { // a bug in one answer must not end the conversation
        worker.error("cannot handle " + m.get("type") + ": " + e);
        more = true;
      }
      if (!more) {
        Log.info("shutdown complete: exiting");
        exit(0);
        return;
      }
    }
  }

  private static Map<String, Object> hello(Spark spark, boolean wantSpark) {
    Map<String, Object> m = Channel.message("hello");
    m.put("protocol", PROTOCOL);
    m.put("runtime", wantSpark ? "spark" : "jvm");
    m.put("pid", pid());
    m.put("capabilities", Arrays.asList("named-objects", "cancel", "steps", "clusters"));
    m.put("version", System.getProperty("java.version"));
    if (spark.present()) m.put("spark", spark.describe());
    return m;
  }

  private static String contextName() {
    String name = System.getProperty("sjs.context");
    if (name == null || name.isEmpty()) name = System.getenv("SJS_CONTEXT");
    return name != null ? name : "";
  }

  private static long pid() {
    try { // Java 9+
      Class<?> ph = Class.forName("java.lang.ProcessHandle");
      Object current = ph.getMethod("current").invoke(null);
      return (Long) ph.getMethod("pid").invoke(current);
    } catch (Exception java8) {
      String name = ManagementFactory.getRuntimeMXBean().getName(); // "pid@host"
      try {
        return Long.parseLong(name.substring(0, name.indexOf('@')));
      } catch (RuntimeException e) {
        return -1;
      }
    }
  }

  /**
   * Exits, running shutdown hooks (Spark stops itself in one), but never hangs on them: the
   * daemon is waiting for us to go.
   */
  static void exit(final int status) {
    Thread watchdog = new Thread(new Runnable() {
      @Override
      public void run() {
        try {
          Thread.sleep(EXIT_GRACE_MILLIS);
        } catch (InterruptedException e) {
          // exit anyway
        }
        Runtime.getRuntime().halt(status);
      }
    }, "sjs-exit-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    System.exit(status);
  }
}
