package sjs.runner;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import sjs.api.Config;

/** The runner's state and its answers to the daemon's messages (docs/worker-protocol.md). */
final class Worker {
  private static final long SHUTDOWN_WAIT_MILLIS = 2000; // for cancelled jobs to report before we exit

  final Channel channel;
  final Spark spark;
  final ContextObjects objects = new ContextObjects();
  final Clusters clusters = new Clusters(this);
  final Loaders loaders;
  final String contextName;
  private final Map<String, JobRun> jobs = new ConcurrentHashMap<String, JobRun>();
  // a step library's steps, per class loader (its first binary is the library): loaders live forever too
  private final Map<ClassLoader, StepLibrary> stepLibraries = new ConcurrentHashMap<ClassLoader, StepLibrary>();

  Worker(Channel channel, Spark spark, String contextName) {
    this.channel = channel;
    this.spark = spark;
    this.contextName = contextName;
    this.loaders = new Loaders(Worker.class.getClassLoader(), spark);
  }

  /** Handles one message; false once the runner should exit (after shutdown). */
  boolean handle(Map<String, Object> m) {
    Object type = m.get("type");
    if ("run".equals(type)) {
      run(m);
    } else if ("cancel".equals(type)) {
      JobRun r = m.get("job") != null ? jobs.get(String.valueOf(m.get("job"))) : null;
      if (r != null) r.cancel(); // an unknown or finished job: nothing to stop
    } else if ("cluster_opened".equals(type)) {
      clusters.opened(m);
    } else if ("cluster_stop".equals(type)) {
      clusters.stop(m);
    } else if ("objects".equals(type)) {
      Map<String, Object> answer = Channel.message("objects");
      answer.put("id", m.get("id"));
      answer.put("names", new ArrayList<String>(objects.names()));
      channel.send(answer);
    } else if ("shutdown".equals(type)) {
      shutdown();
      return false;
    } else {
      error("unknown message type: " + (type instanceof String ? type : Json.write(type)));
    }
    return true;
  }

  void error(String message) {
    Log.warn(message);
    Map<String, Object> e = Channel.message("error");
    e.put("message", message);
    channel.send(e);
  }

  /** Called by a run's thread after its last message. */
  void ended(JobRun run) {
    jobs.remove(run.jobId, run);
  }

  private void run(Map<String, Object> m) {
    Object job = m.get("job");
    if (job == null || job instanceof Map || job instanceof List) {
      error("run message without a job id");
      return;
    }
    String jobId = String.valueOf(job);
    List<Loaders.Binary> binaries;
    Config config;
    List<?> steps;
    try {
      binaries = binaries(m.get("binaries"));
      config = config(m.get("config"));
      steps = steps(m.get("steps"));
    } catch (IllegalArgumentException e) {
      String message = "bad run message: " + e.getMessage();
      channel.send(Failures.failed(job, Failures.LOADING, message, "sjs.BadRequest", null));
      return;
    }
    Object entry = m.get("entry");
    Object context = m.get("context");
    JobRun r = new JobRun(this, job, entry instanceof String ? (String) entry : null, binaries, config,
        context instanceof String ? (String) context : contextName, steps);
    Object token = m.get("cluster_token");
    r.clusterToken = token instanceof String ? (String) token : "";
    if (jobs.putIfAbsent(jobId, r) != null) {
      error("job " + jobId + " is already running: run ignored");
      return;
    }
    r.start();
  }

  private static List<Loaders.Binary> binaries(Object v) {
    if (v == null) return Collections.emptyList();
    if (!(v instanceof List)) throw new IllegalArgumentException("binaries is not an array");
    List<Loaders.Binary> out = new ArrayList<Loaders.Binary>();
    for (Object o : (List<?>) v) {
      if (!(o instanceof Map)) throw new IllegalArgumentException("a binary is not an object");
      Map<?, ?> b = (Map<?, ?>) o;
      out.add(new Loaders.Binary(str(b.get("name")), str(b.get("sha256")), str(b.get("path"))));
    }
    return out;
  }

  /** A pipeline's steps; null for a job. */
  private static List<?> steps(Object v) {
    if (v == null) return null;
    if (!(v instanceof List)) throw new IllegalArgumentException("steps is not an array");
    return (List<?>) v;
  }

  /** The steps of {@code lib}, the first binary of {@code loader}'s; scanned once per loader. */
  StepLibrary stepLibrary(Loaders.Binary lib, ClassLoader loader) throws IOException {
    StepLibrary found = stepLibraries.get(loader);
    if (found != null) return found;
    found = StepLibrary.scan(new File(lib.path), loader); // two first runs at once may both scan: harmless
    for (String s : found.skipped) Log.warn("step library " + lib.name + ": skipped " + s);
    StepLibrary raced = stepLibraries.putIfAbsent(loader, found);
    return raced != null ? raced : found;
  }

  @SuppressWarnings("unchecked")
  private static Config config(Object v) {
    if (v == null) return Config.empty();
    if (!(v instanceof Map)) throw new IllegalArgumentException("config is not an object");
    return new Config((Map<String, Object>) v);
  }

  private static String str(Object o) {
    return o == null ? null : String.valueOf(o);
  }

  /** Cancels every job, gives them a moment to report, stops Spark. The caller exits. */
  private void shutdown() {
    Log.info("shutdown: " + jobs.size() + " job(s) running");
    for (JobRun r : jobs.values()) r.cancel();
    long deadline = System.currentTimeMillis() + SHUTDOWN_WAIT_MILLIS;
    for (JobRun r : jobs.values()) {
      long left = deadline - System.currentTimeMillis();
      if (left <= 0) break;
      try {
        r.thread.join(left);
      } catch (InterruptedException e) {
        break;
      }
    }
    spark.stop();
  }
}
