package sjs.examples;

import sjs.api.Config;
import sjs.api.Job;
import sjs.api.JobContext;

/** Logs three lines to the job's log with progress reports in between; {@code steps.ms} paces it. */
public class Progress implements Job {
  @Override
  public Object run(JobContext ctx, Config config) throws Exception {
    long pause = config.getLong("steps.ms", 100);
    for (int i = 1; i <= 3; i++) {
      ctx.checkCancelled();
      ctx.log("step " + i + " of 3");
      ctx.progress(i / 3.0, "step " + i);
      Thread.sleep(pause);
    }
    return "3 steps done";
  }
}
