package sjs.runner;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;

import sjs.api.PartitionServer;
import sjs.api.Request;
import sjs.api.Response;

/**
 * One partition server's HTTP side (docs/partition-servers.md, "HTTP surface"): the JDK's
 * HttpServer (HTTP/1.1, keep-alive; every answer has a Content-Length) with the control routes,
 * the application under /app, and 404 for anything else. Requests run on a thread pool of its
 * own. What happens to the partition (restart, stop) is its {@link Owner}'s business: this class
 * only reports a crash (an Error from the application) or a shutdown request.
 */
final class PartitionHttp implements HttpHandler {
  static {
    // The JDK's server writes an answer's headers and body apart: without TCP_NODELAY, Nagle and
    // the client's delayed ACK hold every keep-alive answer ~40 ms (22 requests/s on one
    // connection). Read once, when the first HttpServer is made; a -D on the command line wins.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) System.setProperty("sun.net.httpserver.nodelay", "true");
  }

  /** The partition's supervisor, told what the server cannot decide alone. */
  interface Owner {
    /** An Error escaped the application: the server must be replaced. */
    void crashed(Throwable t);

    /** POST (or GET) /control/shutdown was answered: stop this server, take its result. */
    void shutdownAsked();

    /** A line or more for the job's log. */
    void log(String text);
  }

  private final String cluster;
  private final int partition;
  private final PartitionServer<?> app;
  private final Owner owner;
  private final HttpServer server;
  private final ExecutorService pool;
  private final Object lock = new Object();
  private int inFlight; // /app requests being answered; guarded by lock
  private boolean stopping; // guarded by lock: new /app requests get 503

  private PartitionHttp(String cluster, int partition, PartitionServer<?> app, Owner owner, HttpServer server,
      ExecutorService pool) {
    this.cluster = cluster;
    this.partition = partition;
    this.app = app;
    this.owner = owner;
    this.server = server;
    this.pool = pool;
  }

  /** Binds {@code address} and starts serving; throws IOException when the port cannot be bound. */
  static PartitionHttp start(String cluster, int partition, PartitionServer<?> app, Owner owner,
      InetSocketAddress address, final ClassLoader loader) throws IOException {
    HttpServer server = HttpServer.create(address, 128);
    final String prefix = "sjs-cluster-" + cluster + "-p" + partition + "-";
    ExecutorService pool = Executors.newCachedThreadPool(new ThreadFactory() {
      private final AtomicInteger n = new AtomicInteger();

      @Override
      public Thread newThread(Runnable r) {
        Thread t = new Thread(r, prefix + n.incrementAndGet());
        t.setDaemon(true);
        t.setContextClassLoader(loader); // the job's classes, as on the job's own thread
        return t;
      }
    });
    PartitionHttp h = new PartitionHttp(cluster, partition, app, owner, server, pool);
    server.createContext("/", h);
    server.setExecutor(pool);
    server.start();
    return h;
  }

  int port() {
    return server.getAddress().getPort();
  }

  /** Closes the listening socket and every connection at once; requests being answered are cut off. */
  void stopNow() {
    synchronized (lock) {
      stopping = true;
    }
    server.stop(0);
    pool.shutdownNow();
  }

  /**
   * Lets the /app requests being answered finish (up to graceMillis; new ones get 503), then
   * closes the server.
   */
  void stopGracefully(long graceMillis) {
    long deadline = System.currentTimeMillis() + graceMillis;
    synchronized (lock) {
      stopping = true;
      long left;
      while (inFlight > 0 && (left = deadline - System.currentTimeMillis()) > 0) {
        try {
          lock.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      if (inFlight > 0) owner.log(inFlight + " request(s) still running after " + graceMillis + " ms: cut off");
    }
    server.stop(0);
    pool.shutdown();
  }

  @Override
  public void handle(HttpExchange ex) throws IOException {
    try {
      String path = ex.getRequestURI().getPath();
      if (path == null) path = "";
      String method = ex.getRequestMethod();
      if (path.equals("/control/health")) {
        send(ex, 200, "application/json", Json.write(status("UP")).getBytes(StandardCharsets.UTF_8));
      } else if (path.equals("/control/shutdown") && ("POST".equals(method) || "GET".equals(method))) {
        send(ex, 200, "application/json", Json.write(status("STOPPING")).getBytes(StandardCharsets.UTF_8));
        ex.close(); // the answer is out before the server goes
        owner.shutdownAsked();
      } else if (path.equals("/app") || path.startsWith("/app/")) {
        app(ex, path.substring(4));
      } else {
        Map<String, Object> m = new LinkedHashMap<String, Object>();
        m.put("status", "ERROR");
        m.put("result", "no such route: " + path + " (partition servers answer /app/... and /control/...)");
        send(ex, 404, "application/json", Json.write(m).getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      // the client went away; nothing to answer
    } finally {
      ex.close();
    }
  }

  private Map<String, Object> status(String status) {
    Map<String, Object> m = new LinkedHashMap<String, Object>();
    m.put("status", status);
    m.put("cluster", cluster);
    m.put("partition", partition);
    return m;
  }

  private void app(HttpExchange ex, String rest) throws IOException {
    boolean refuse;
    synchronized (lock) {
      refuse = stopping;
      if (!refuse) inFlight++;
    }
    if (refuse) {
      send(ex, 503, "application/json", Json.write(status("STOPPING")).getBytes(StandardCharsets.UTF_8));
      return;
    }
    try {
      Request request = new Request(ex.getRequestMethod(), rest, ex.getRequestURI().getRawQuery(),
          ex.getRequestHeaders(), readAll(ex.getRequestBody()), cluster, partition);
      byte[] body;
      Response r;
      try {
        r = app.handle(request);
        if (r == null) throw new IllegalStateException("handle() returned null: return a Response");
        body = r.isJson() ? Json.write(Results.toJson(r.jsonValue())).getBytes(StandardCharsets.UTF_8) : r.body();
      } catch (Exception e) {
        // as any HTTP server would: a 500 for this request, the server goes on
        owner.log("partition " + partition + ": " + ex.getRequestMethod() + " " + ex.getRequestURI() + " failed: " + e
            + "\n" + join(Failures.stack(e)));
        send(ex, 500, "text/plain; charset=utf-8", ("internal server error: " + e + " (the stack is in the job's log)\n")
            .getBytes(StandardCharsets.UTF_8));
        return;
      } catch (Throwable t) { // an Error: this server is done for
        try {
          send(ex, 500, "text/plain; charset=utf-8", ("partition server crashed: " + t + "\n").getBytes(StandardCharsets.UTF_8));
        } finally {
          owner.crashed(t);
        }
        return;
      }
      for (Map.Entry<String, String> h : r.headers().entrySet()) {
        if (h.getKey() != null && h.getValue() != null && !"content-length".equalsIgnoreCase(h.getKey())) {
          ex.getResponseHeaders().set(h.getKey(), h.getValue());
        }
      }
      send(ex, r.status(), null, body);
    } finally {
      synchronized (lock) {
        inFlight--;
        lock.notifyAll();
      }
    }
  }

  /** Sends status and body with a Content-Length (so the connection can be kept); contentType null keeps the set one. */
  private static void send(HttpExchange ex, int status, String contentType, byte[] body) throws IOException {
    if (contentType != null) ex.getResponseHeaders().set("Content-Type", contentType);
    boolean noBody = body == null || body.length == 0 || "HEAD".equals(ex.getRequestMethod()) || status == 204
        || status == 304;
    ex.sendResponseHeaders(status, noBody ? -1 : body.length); // -1: "Content-length: 0", no body
    if (!noBody) {
      OutputStream out = ex.getResponseBody();
      out.write(body);
      out.close();
    }
  }

  private static byte[] readAll(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    int n;
    while ((n = in.read(buf)) > 0) out.write(buf, 0, n);
    return out.toByteArray();
  }

  static String join(List<String> lines) {
    StringBuilder b = new StringBuilder();
    for (String l : lines) {
      if (b.length() > 0) b.append('\n');
      b.append("    ").append(l);
    }
    return b.toString();
  }
}
