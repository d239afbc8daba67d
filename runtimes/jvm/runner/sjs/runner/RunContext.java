package sjs.runner;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import sjs.api.Config;
import sjs.api.JobCancelledException;
import sjs.api.JobContext;
import sjs.api.NamedObjects;
import sjs.api.PartitionServer;
import sjs.api.ServeOptions;

/** The JobContext a job sees: a thin view of its {@link JobRun}. */
final class RunContext implements JobContext {
  private final JobRun run;

  RunContext(JobRun run) {
    this.run = run;
  }

  @Override
  public String jobId() {
    return run.jobId;
  }

  @Override
  public String contextName() {
    return run.contextName;
  }

  @Override
  public Config config() {
    return run.config;
  }

  @Override
  public NamedObjects namedObjects() {
    return run.worker.objects;
  }

  @Override
  public void progress(double fraction, String message) {
    double v = Double.isNaN(fraction) ? 0 : Math.max(0, Math.min(1, fraction));
    Map<String, Object> m = Channel.message("progress");
    m.put("job", run.jobRef);
    m.put("value", v);
    m.put("message", message != null ? message : "");
    run.sendWhileRunning(m, "progress " + v + " " + message);
  }

  @Override
  public void log(String message) {
    // one event per line: the daemon's job log is line-oriented
    String text = String.valueOf(message);
    if (text.endsWith("\n")) text = text.substring(0, text.length() - 1);
    for (String line : text.split("\r?\n", -1)) {
      Map<String, Object> m = Channel.message("log");
      m.put("job", run.jobRef);
      m.put("data", line);
      run.sendWhileRunning(m, line);
    }
  }

  @Override
  public boolean isCancelled() {
    return run.cancelled;
  }

  @Override
  public void checkCancelled() throws JobCancelledException {
    if (run.cancelled) throw new JobCancelledException("job " + run.jobId + " was cancelled");
  }

  @Override
  public boolean hasSpark() {
    return run.worker.spark.present();
  }

  @Override
  public <T> T spark(Class<T> type) {
    if (type == null) throw new IllegalArgumentException("spark(null)");
    return type.cast(spark(type.getName()));
  }

  @Override
  public Object spark(String className) {
    return run.worker.spark.handle(className);
  }

  @Override
  public <T> List<Object> servePartitions(List<? extends Iterable<T>> partitions,
      Supplier<? extends PartitionServer<T>> factory, String name, Map<String, Object> config, ServeOptions options)
      throws JobCancelledException {
    return LocalCluster.serve(this, run, partitions, factory, name, config, options);
  }
}
