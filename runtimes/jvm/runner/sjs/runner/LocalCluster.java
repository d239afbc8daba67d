package sjs.runner;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import sjs.api.ClusterException;
import sjs.api.Config;
import sjs.api.JobCancelledException;
import sjs.api.PartitionServer;
import sjs.api.ServeOptions;

/**
 * One servePartitions call in local mode (docs/partition-servers.md): P partition servers in this
 * JVM, each run by a supervisor thread of its own ({@link Slot}) that creates the instance,
 * initialises it, binds its {@link PartitionHttp}, registers it with sjsd, and restarts it after a
 * failure. The job's thread opens the cluster, waits for its end (cluster_stop, every server shut
 * down through /control/shutdown, a partition failing past its restarts, or the job's cancel),
 * then has the supervisors stop their servers, collects the results and sends cluster_ended,
 * exactly once.
 *
 * <p>Everything mutable is guarded by {@link #lock}; the supervisors, the servers' threads, the
 * reader (cluster_stop, cancel) and the job's thread all meet there.
 */
final class LocalCluster<T> {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,63}");
  private static final long GRACE_MILLIS = 5000; // in-flight requests get this long at a stop
  private static final long JOIN_MILLIS = 30000; // a supervisor stuck in result() is left behind after this
  private static final long CANCEL_JOIN_MILLIS = 5000; // a supervisor still in initPartition is left behind
  private static final long FIRST_BACKOFF_MILLIS = 100;
  private static final long MAX_BACKOFF_MILLIS = 2000;

  /** Why the cluster ends. */
  private enum End { STOP, CANCEL, FAIL }

  final JobRun run;
  final String name;
  private final RunContext ctx;
  private final List<List<T>> rows;
  private final Supplier<? extends PartitionServer<T>> factory;
  private final Config config;
  private final ServeOptions options;
  private final String host;
  private final ClassLoader loader;
  private final List<Slot> slots = new ArrayList<Slot>();

  private final Object lock = new Object();
  private End end; // null while serving
  private String failure = ""; // the error cluster_ended carries, for FAIL

  private LocalCluster(RunContext ctx, JobRun run, String name, List<List<T>> rows,
      Supplier<? extends PartitionServer<T>> factory, Config config, ServeOptions options) {
    this.ctx = ctx;
    this.run = run;
    this.name = name;
    this.rows = rows;
    this.factory = factory;
    this.config = config;
    this.options = options;
    this.host = advertisedHost(options);
    ClassLoader l = Thread.currentThread().getContextClassLoader();
    this.loader = l != null ? l : LocalCluster.class.getClassLoader();
    for (int i = 0; i < rows.size(); i++) slots.add(new Slot(i));
  }

  /** JobContext.servePartitions, on the caller's thread (normally the job's). */
  static <T> List<Object> serve(RunContext ctx, JobRun run, List<? extends Iterable<T>> partitions,
      Supplier<? extends PartitionServer<T>> factory, String name, Map<String, Object> config, ServeOptions options)
      throws JobCancelledException {
    Object data = partitions;
    if (!(data instanceof List)) {
      throw new IllegalArgumentException("servePartitions takes a java.util.List of partitions (each an Iterable of "
          + "rows), not " + (data == null ? "null" : "a " + data.getClass().getName()) + ": collect an RDD into a List "
          + "(e.g. rdd.glom().collect()), or use the Python API (ctx.serve_partitions) for RDD-backed clusters");
    }
    if (partitions.isEmpty()) throw new IllegalArgumentException("servePartitions needs at least one partition");
    if (factory == null) throw new IllegalArgumentException("servePartitions needs a factory of PartitionServers, not null");
    String cluster = name != null ? name : run.jobId;
    if (!NAME.matcher(cluster).matches()) {
      throw new IllegalArgumentException("bad cluster name \"" + cluster + "\": use 1-64 characters of A-Z a-z 0-9 . _ -, "
          + "not starting with . or -");
    }
    List<List<T>> rows = new ArrayList<List<T>>();
    int i = 0;
    for (Object p : (List<?>) data) {
      if (!(p instanceof Iterable)) {
        throw new IllegalArgumentException("partition " + i + " is " + (p == null ? "null" : "a " + p.getClass().getName())
            + ", not an Iterable of rows");
      }
      List<T> copy = new ArrayList<T>();
      for (Object row : (Iterable<?>) p) {
        @SuppressWarnings("unchecked")
        T t = (T) row;
        copy.add(t);
      }
      rows.add(Collections.unmodifiableList(copy));
      i++;
    }
    if (run.clusterToken == null || run.clusterToken.isEmpty()) {
      throw new ClusterException("this sjsd does not coordinate partition servers");
    }
    if (run.cancelled) throw new JobCancelledException("job " + run.jobId + " was cancelled");
    LocalCluster<T> c = new LocalCluster<T>(ctx, run, cluster, rows, factory,
        config != null ? new Config(config) : Config.empty(), options != null ? options : new ServeOptions());
    // known before sjsd can answer, so a cluster_stop right after cluster_opened finds it
    run.worker.clusters.add(c);
    try {
      run.worker.clusters.open(run, cluster, rows.size());
    } catch (RuntimeException | JobCancelledException e) {
      run.worker.clusters.remove(c); // never opened: no cluster_ended
      throw e;
    }
    return c.serve();
  }

  private List<Object> serve() throws JobCancelledException {
    End why;
    try {
      for (Slot s : slots) s.thread.start();
      why = awaitEnd();
    } catch (Throwable t) { // e.g. no thread to be had: take down what started, still end the cluster once
      synchronized (lock) {
        if (end == null) {
          end = End.FAIL;
          failure = "cannot run the partition servers of cluster \"" + name + "\": " + describe(t);
        }
        lock.notifyAll();
        why = end;
      }
    }
    try {
      return finish(why);
    } finally {
      run.worker.clusters.remove(this);
    }
  }

  private End awaitEnd() {
    synchronized (lock) {
      while (end == null) {
        if (run.cancelled) {
          end = End.CANCEL;
          break;
        }
        try {
          lock.wait(1000);
        } catch (InterruptedException e) { // the job's cancel
          end = End.CANCEL;
        }
      }
      lock.notifyAll();
      return end;
    }
  }

  /** After the end: waits for the supervisors (they stop their servers), sends cluster_ended, returns or throws. */
  private List<Object> finish(End why) throws JobCancelledException {
    // a stop waits for in-flight requests and result(); a kill or failure only for the ports to close
    long deadline = System.currentTimeMillis() + (why == End.STOP ? JOIN_MILLIS : CANCEL_JOIN_MILLIS);
    // The cancel's interrupt of the job's thread may land here, after the end was already seen:
    // it must not cut the wait short, or the job would be reported killed with its ports still open.
    boolean interrupted = false;
    for (Slot s : slots) {
      long left;
      while (s.thread.isAlive() && (left = deadline - System.currentTimeMillis()) > 0) {
        try {
          s.thread.join(left);
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    }
    if (interrupted) Thread.currentThread().interrupt();
    List<Object> results = new ArrayList<Object>();
    String error;
    synchronized (lock) {
      error = why == End.CANCEL ? "the job was killed" : why == End.FAIL ? failure : "";
      for (Slot s : slots) {
        if (why == End.STOP && error.isEmpty()) {
          if (s.thread.isAlive()) error = "partition " + s.index + " did not stop within " + JOIN_MILLIS / 1000 + " s";
          else if (s.resultError != null) error = s.resultError;
        }
        results.add(s.result);
      }
    }
    Map<String, Object> m = Channel.message("cluster_ended");
    m.put("job", run.jobRef);
    m.put("cluster", name);
    if (why == End.CANCEL) m.put("killed", true); // optional: sjsd's ClusterEnded tells a kill from a failure by it
    try {
      m.put("results", error.isEmpty() ? Results.toJson(results) : null);
      m.put("error", error);
      run.worker.channel.send(m);
    } catch (Json.TooLarge e) {
      error = "the results of cluster \"" + name + "\" are too large to send to sjsd: " + e.getMessage();
      m.put("results", null);
      m.put("error", error);
      run.worker.channel.send(m);
    } catch (RuntimeException e) { // a result whose conversion throws
      error = "cannot convert the results of cluster \"" + name + "\" to JSON: " + e;
      m.put("results", null);
      m.put("error", error);
      run.worker.channel.send(m);
    }
    if (why == End.CANCEL) throw new JobCancelledException("job " + run.jobId + " was cancelled");
    if (!error.isEmpty()) throw new ClusterException(error);
    run.worker.objects.put("cluster:" + name, results);
    return results;
  }

  /** cluster_stop from sjsd. */
  void requestStop() {
    synchronized (lock) {
      if (end == null) end = End.STOP;
      lock.notifyAll();
    }
  }

  /** The job's cancel. */
  void requestCancel() {
    synchronized (lock) {
      if (end == null) end = End.CANCEL;
      lock.notifyAll();
    }
  }

  private static String advertisedHost(ServeOptions options) {
    if (options.host() != null && !options.host().isEmpty()) return options.host();
    String env = System.getenv("SJS_CLUSTER_HOST");
    if (env != null && !env.isEmpty()) return env;
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      Log.warn("cannot find this machine's name (" + e + "): partition servers advertise localhost; set SJS_CLUSTER_HOST");
      return "localhost";
    }
  }

  private static String describe(Throwable t) {
    String m = t.getMessage();
    return m != null && !m.isEmpty() ? t.getClass().getName() + ": " + m : t.getClass().getName();
  }

  /** One partition: its supervisor thread and what it shares with the cluster (under lock). */
  private final class Slot implements Runnable, PartitionHttp.Owner {
    final int index;
    final Thread thread;
    private int failures; // under lock
    private Throwable crash; // under lock: set by a request thread, taken by the supervisor
    private boolean shutdownAsked; // under lock
    private boolean stopped; // under lock: shut down through /control/shutdown, not to be restarted
    Object result; // under lock, once stopped
    String resultError; // under lock

    Slot(int index) {
      this.index = index;
      this.thread = new Thread(this, "sjs-cluster-" + name + "-p" + index);
      this.thread.setDaemon(true);
      this.thread.setContextClassLoader(loader);
    }

    @Override
    public void run() {
      while (serveOnce()) {
        // restarted after a failure
      }
    }

    /** One server's life; true to start a new one (after a failure and its backoff). */
    private boolean serveOnce() {
      synchronized (lock) {
        if (end != null) return false;
      }
      PartitionServer<T> app;
      PartitionHttp http;
      String stage = "the factory (Supplier.get)";
      try {
        app = factory.get();
        if (app == null) throw new IllegalStateException("the factory returned null instead of a PartitionServer");
        stage = "setPartition";
        app.setPartition(name, index);
        stage = "initPartition";
        app.initPartition(rows.get(index), config);
        stage = "binding its port";
        http = PartitionHttp.start(name, index, app, this, address(), loader);
      } catch (Throwable t) {
        return failed(stage + " failed: " + describe(t), t);
      }
      boolean ending;
      synchronized (lock) {
        ending = end != null;
      }
      if (!ending) { // a server that comes up as the cluster ends is not announced
        Map<String, Object> reg = Channel.message("cluster_register");
        reg.put("job", run.jobRef);
        reg.put("cluster", name);
        reg.put("partition", index);
        reg.put("host", host);
        reg.put("port", http.port());
        reg.put("token", run.clusterToken);
        run.worker.channel.send(reg);
      }

      Throwable crashed;
      End why;
      boolean asked;
      synchronized (lock) {
        while (end == null && crash == null && !shutdownAsked) {
          try {
            lock.wait();
          } catch (InterruptedException e) {
            // nobody interrupts a supervisor; the loop checks the state again
          }
        }
        crashed = crash;
        crash = null;
        why = end;
        asked = shutdownAsked;
      }
      if (crashed != null && why == null && !asked) {
        http.stopNow();
        return failed("the request handler crashed: " + describe(crashed), crashed);
      }
      if (why == End.CANCEL || why == End.FAIL) {
        http.stopNow(); // ports freed at once; no results
        return false;
      }
      http.stopGracefully(GRACE_MILLIS); // a stop, or this server's /control/shutdown
      Object r = null;
      String rError = null;
      try {
        r = app.result();
      } catch (Throwable t) {
        rError = "partition " + index + ": result() failed: " + describe(t);
        log(rError + "\n" + PartitionHttp.join(Failures.stack(t)));
      }
      synchronized (lock) {
        result = r;
        resultError = rError;
        stopped = true;
        if (end == null && allStopped()) end = End.STOP; // every server was shut down through its control route
        lock.notifyAll();
      }
      return false;
    }

    private boolean allStopped() {
      for (Slot s : slots) {
        if (!s.stopped) return false;
      }
      return true;
    }

    private InetSocketAddress address() throws IOException {
      int port = options.port() == 0 ? 0 : options.port() + index;
      if (port > 65535) throw new IOException("port " + port + " (" + options.port() + " + partition " + index + ") is past 65535");
      String bind = options.bind();
      return bind.isEmpty() ? new InetSocketAddress(port) : new InetSocketAddress(bind, port);
    }

    /**
     * Reports a failure (job log, cluster_partition), then waits out the backoff; true to restart.
     * Past maxRestarts the cluster fails.
     */
    private boolean failed(String error, Throwable t) {
      synchronized (lock) {
        if (end != null) return false; // ending anyway: not a partition failure
        failures++;
      }
      log("cluster " + name + ", partition " + index + ": " + error + "\n" + PartitionHttp.join(Failures.stack(t)));
      Map<String, Object> m = Channel.message("cluster_partition");
      m.put("job", run.jobRef);
      m.put("cluster", name);
      m.put("partition", index);
      m.put("error", error);
      run.worker.channel.send(m);
      synchronized (lock) {
        if (failures > options.maxRestarts()) {
          if (end == null) {
            end = End.FAIL;
            failure = "partition " + index + " of cluster \"" + name + "\" failed " + failures + " time(s), past its "
                + options.maxRestarts() + " restart(s): " + error;
            lock.notifyAll();
          }
          return false;
        }
        long backoff = Math.min(MAX_BACKOFF_MILLIS, FIRST_BACKOFF_MILLIS << Math.min(10, failures - 1));
        long until = System.currentTimeMillis() + backoff;
        long left;
        while (end == null && (left = until - System.currentTimeMillis()) > 0) {
          try {
            lock.wait(left);
          } catch (InterruptedException e) {
            // as above
          }
        }
        if (end == null) log("cluster " + name + ", partition " + index + ": restarting (restart " + failures + " of "
            + options.maxRestarts() + ")");
        return end == null;
      }
    }

    @Override
    public void crashed(Throwable t) {
      synchronized (lock) {
        if (crash == null) crash = t;
        lock.notifyAll();
      }
    }

    @Override
    public void shutdownAsked() {
      synchronized (lock) {
        shutdownAsked = true;
        lock.notifyAll();
      }
    }

    @Override
    public void log(String text) {
      ctx.log(text);
    }
  }
}
