package sjs.runner;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import sjs.api.Config;
import sjs.api.Job;

/**
 * One run of one job, on its own daemon thread {@code sjs-job-<id>}: load the class, validate,
 * run, report; or, for a pipeline (run.steps), find the library's steps, check the pipeline,
 * run its steps in order. Whatever happens, exactly one {@code finished} or {@code failed} goes out.
 */
final class JobRun implements Runnable {
  final Worker worker;
  final Object jobRef; // the id as the daemon sent it, echoed back unchanged
  final String jobId;
  final String entry;
  final List<Loaders.Binary> binaries;
  final Config config;
  final String contextName;
  final List<?> steps; // run.steps: null unless the run is a pipeline
  final Thread thread;
  volatile String clusterToken; // run.cluster_token: the credential of the job's partition servers ("" = none)

  volatile boolean cancelled;
  private volatile boolean done;
  private final Object sendLock = new Object(); // orders "done" against late log/progress sends

  JobRun(Worker worker, Object jobRef, String entry, List<Loaders.Binary> binaries, Config config, String contextName,
      List<?> steps) {
    this.worker = worker;
    this.jobRef = jobRef;
    this.jobId = String.valueOf(jobRef);
    this.entry = entry;
    this.binaries = binaries;
    this.config = config;
    this.contextName = contextName;
    this.steps = steps;
    this.thread = new Thread(this, "sjs-job-" + jobId);
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /** From the reader thread: flag, shut the job's partition servers, interrupt, cancel its Spark work. */
  void cancel() {
    cancelled = true;
    worker.clusters.cancelJob(jobId);
    thread.interrupt();
    worker.spark.cancelJobGroup(jobId);
  }

  /**
   * Sends a log or progress event unless the run has already reported its end (a thread the
   * job left behind may still log): those lines go to the context log instead.
   */
  void sendWhileRunning(Map<String, Object> message, String text) {
    synchronized (sendLock) {
      if (!done) {
        try {
          worker.channel.send(message);
        } catch (Json.TooLarge e) {
          Log.warn("job " + jobId + ": dropped an event too large to send: " + e.getMessage());
        }
        return;
      }
    }
    Log.info("job " + jobId + " (ended): " + text);
  }

  @Override
  public void run() {
    Map<String, Object> outcome;
    try {
      outcome = execute();
    } catch (Throwable t) { // a bug here must still end the run, and must not kill the runner
      outcome = Failures.failed(jobRef, cancelled ? Failures.KILLED : Failures.ERROR, t);
    }
    synchronized (sendLock) {
      done = true;
      finish(outcome);
    }
    worker.ended(this);
  }

  private void finish(Map<String, Object> outcome) {
    try {
      worker.channel.send(outcome);
    } catch (Json.TooLarge e) {
      worker.channel.send(Failures.failed(jobRef, Failures.ERROR,
          "the job's result is too large to send: " + e.getMessage(), "sjs.ResultTooLarge", null));
    } catch (Throwable t) { // e.g. a result whose toString() keeps throwing
      worker.channel.send(Failures.failed(jobRef, Failures.ERROR, "cannot send the job's result: " + t,
          t.getClass().getName(), Failures.stack(t)));
    }
  }

  private Map<String, Object> execute() {
    // 1. load
    if (steps != null && binaries.isEmpty()) {
      return Failures.failed(jobRef, Failures.LOADING, "a pipeline needs a step library: the run has no binaries",
          "sjs.NoStepLibrary", null);
    }
    ClassLoader loader;
    try {
      loader = worker.loaders.loaderFor(binaries);
    } catch (Loaders.BadBinary e) {
      return Failures.failed(jobRef, Failures.LOADING, e.getMessage(), "sjs.BadBinary",
          e.getCause() != null ? Failures.stack(e.getCause()) : Collections.<String>emptyList());
    }
    thread.setContextClassLoader(loader); // for ServiceLoader, Spark serializers, frameworks
    if (steps != null) return pipeline(loader);
    Job job;
    try {
      job = instantiate(loader);
    } catch (LoadingFailure f) {
      return f.message;
    }
    if (cancelled) return killed(null);

    // Spark work started by validate() belongs to the job too: a cancel must reach it.
    worker.spark.setJobGroup(jobId);
    try {
      return validateAndRun(job, new RunContext(this));
    } finally {
      worker.spark.clearJobGroup();
    }
  }

  private Map<String, Object> validateAndRun(Job job, RunContext ctx) {
    // 2. validate
    List<String> problems;
    try {
      problems = asStrings(job.validate(ctx, config));
    } catch (Throwable t) {
      if (cancelled) return killed(t);
      String m = Failures.message(t);
      return Failures.failed(jobRef, Failures.VALIDATION, "VALIDATION FAILED: " + m, t.getClass().getName(),
          Collections.singletonList(m));
    }
    if (!problems.isEmpty()) {
      return Failures.failed(jobRef, Failures.VALIDATION, "VALIDATION FAILED: " + join(problems),
          "sjs.ValidationFailed", problems);
    }
    if (cancelled) return killed(null);

    // 3. run
    Map<String, Object> started = Channel.message("started");
    started.put("job", jobRef);
    worker.channel.send(started);
    Object result;
    try {
      result = job.run(ctx, config);
    } catch (Throwable t) {
      // OutOfMemoryError lands here too: the JVM's own options (-XX:+ExitOnOutOfMemoryError)
      // decide whether the process dies; if it lives on, the job is reported like any error.
      return cancelled ? killed(t) : Failures.failed(jobRef, Failures.ERROR, t);
    }
    if (cancelled) return killed(null);

    // 4. report
    return finished(result);
  }

  private Map<String, Object> finished(Object result) {
    Map<String, Object> finished = Channel.message("finished");
    finished.put("job", jobRef);
    try {
      finished.put("result", Results.toJson(result));
    } catch (Throwable t) {
      return Failures.failed(jobRef, Failures.ERROR, "cannot convert the job's result to JSON: " + Failures.message(t),
          t.getClass().getName(), Failures.stack(t));
    }
    return finished;
  }

  // ---------------------------------------------------------------- pipelines

  private Map<String, Object> pipeline(ClassLoader loader) {
    Loaders.Binary lib = binaries.get(0);
    String libName = lib.name != null ? lib.name : lib.path;
    StepLibrary library;
    try {
      library = worker.stepLibrary(lib, loader);
    } catch (IOException | RuntimeException e) {
      return Failures.failed(jobRef, Failures.LOADING, "cannot read the step library " + libName + ": " + Failures.message(e),
          "sjs.BadBinary", Failures.stack(e));
    }
    if (cancelled) return killed(null);
    worker.spark.setJobGroup(jobId);
    try {
      return runPipeline(library, libName, new RunContext(this));
    } finally {
      worker.spark.clearJobGroup();
    }
  }

  private Map<String, Object> runPipeline(StepLibrary library, String libName, RunContext ctx) {
    // 2. check the whole pipeline
    Pipeline p = Pipeline.check(steps, library, libName);
    if (!p.problems.isEmpty()) {
      return Failures.failed(jobRef, Failures.VALIDATION, "VALIDATION FAILED: " + p.summary(), "sjs.ValidationFailed",
          p.problems);
    }
    if (cancelled) return killed(null);

    // 3. run the steps, each on the previous one's output
    Map<String, Object> started = Channel.message("started");
    started.put("job", jobRef);
    worker.channel.send(started);
    int n = p.calls.size();
    Object data = null;
    for (int i = 1; i <= n; i++) {
      Pipeline.Call call = p.calls.get(i - 1);
      if (cancelled) return killed(null);
      ctx.progress((i - 1) / (double) n, "step " + i + "/" + n + ": " + call.name);
      String failedAt = "step " + i + "/" + n + " (" + call.name + ") failed: ";
      Method m = call.def.method;
      Class<?> dataType = m.getParameterTypes()[1];
      if (data != null && !dataType.isInstance(data)) {
        return Failures.failed(jobRef, Failures.ERROR, failedAt + "java.lang.ClassCastException: " + call.def.qualified()
            + " takes data of type " + dataType.getName() + ", the previous step returned a " + data.getClass().getName(),
            "java.lang.ClassCastException", null);
      }
      Object[] args = new Object[call.args.length + 2];
      args[0] = ctx;
      args[1] = data;
      System.arraycopy(call.args, 0, args, 2, call.args.length);
      try {
        if (!m.isAccessible()) m.setAccessible(true); // a public method of a class that is not public
      } catch (RuntimeException e) {
        // invoke() says why if it matters
      }
      try {
        data = m.invoke(null, args);
      } catch (Throwable t) {
        Throwable cause = t;
        if (t instanceof InvocationTargetException || t instanceof ExceptionInInitializerError) {
          if (t.getCause() != null) cause = t.getCause(); // the step's own exception (or its class's initialiser's)
        }
        if (cancelled) return killed(cause);
        return Failures.failed(jobRef, Failures.ERROR, failedAt + describe(cause), cause.getClass().getName(),
            Failures.stack(cause));
      }
    }
    if (cancelled) return killed(null);

    // 4. report the last step's output
    return finished(data);
  }

  /** "java.lang.IllegalStateException: boom", or the class name alone without a message. */
  private static String describe(Throwable t) {
    String m = t.getMessage();
    return m != null && !m.isEmpty() ? t.getClass().getName() + ": " + m : t.getClass().getName();
  }

  /** A loading failure, carried out of instantiate(). */
  private static final class LoadingFailure extends Exception {
    private static final long serialVersionUID = 1L;
    final transient Map<String, Object> message;

    LoadingFailure(Map<String, Object> message) {
      super(null, null, false, false);
      this.message = message;
    }
  }

  private LoadingFailure loading(String message, String errorClass, Throwable t) {
    return new LoadingFailure(Failures.failed(jobRef, Failures.LOADING, message, errorClass,
        t != null ? Failures.stack(t) : Collections.<String>emptyList()));
  }

  private Job instantiate(ClassLoader loader) throws LoadingFailure {
    String where = binaries.isEmpty() ? "the runner's class path" : Loaders.names(binaries);
    if (entry == null || entry.isEmpty()) throw loading("the run names no entry class", "sjs.NoEntry", null);
    Class<?> cls;
    try {
      cls = Class.forName(entry, true, loader);
    } catch (ClassNotFoundException e) {
      throw loading("class " + entry + " not found in " + where, e.getClass().getName(), null);
    } catch (ExceptionInInitializerError e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw loading("static initialisation of " + entry + " failed: " + Failures.message(cause),
          cause.getClass().getName(), cause);
    } catch (LinkageError e) { // NoClassDefFoundError, UnsupportedClassVersionError, ...
      throw loading("cannot load " + entry + " from " + where + ": " + e, e.getClass().getName(), e);
    }
    if (!Job.class.isAssignableFrom(cls)) {
      throw loading(entry + " does not implement sjs.api.Job", "sjs.NotAJob", null);
    }
    if (Modifier.isAbstract(cls.getModifiers())) {
      throw loading(entry + " is abstract or an interface", "sjs.NotAJob", null);
    }
    Constructor<?> ctor;
    try {
      ctor = cls.getConstructor();
    } catch (NoSuchMethodException e) {
      throw loading(entry + " has no public no-argument constructor", "sjs.NotAJob", null);
    }
    try {
      return (Job) ctor.newInstance();
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      throw loading("the constructor of " + entry + " threw: " + Failures.message(cause),
          cause.getClass().getName(), cause);
    } catch (IllegalAccessException e) { // a public constructor of a non-public class
      throw loading(entry + " is not a public class", "sjs.NotAJob", null);
    } catch (InstantiationException | LinkageError e) {
      throw loading("cannot create " + entry + ": " + e, e.getClass().getName(), e);
    }
  }

  private Map<String, Object> killed(Throwable t) {
    String message = "job " + jobId + " was cancelled";
    if (t == null) return Failures.failed(jobRef, Failures.KILLED, message, "sjs.api.JobCancelledException", null);
    return Failures.failed(jobRef, Failures.KILLED, message, t.getClass().getName(), Failures.stack(t));
  }

  private static List<String> asStrings(List<?> problems) {
    List<String> out = new ArrayList<String>();
    if (problems != null) {
      for (Object p : problems) out.add(String.valueOf(p));
    }
    return out;
  }

  private static String join(List<String> parts) {
    StringBuilder b = new StringBuilder();
    for (String p : parts) {
      if (b.length() > 0) b.append("; ");
      b.append(p);
    }
    return b.toString();
  }
}
