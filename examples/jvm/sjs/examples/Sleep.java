package sjs.examples;

import sjs.api.Config;
import sjs.api.Job;
import sjs.api.JobContext;

/**
 * Sleeps {@code sleep.seconds} (or {@code stress.test.longpijob.duration}, the old job server's
 * name for it) seconds, default 1, waking every 50 ms to see whether it was cancelled.
 */
public class Sleep implements Job {
  @Override
  public Object run(JobContext ctx, Config config) throws Exception {
    double seconds = config.hasPath("sleep.seconds") ? config.getDouble("sleep.seconds")
        : config.getDouble("stress.test.longpijob.duration", 1);
    long end = System.nanoTime() + (long) (seconds * 1e9);
    while (true) {
      ctx.checkCancelled();
      long left = end - System.nanoTime();
      if (left <= 0) break;
      Thread.sleep(Math.min(50, Math.max(1, left / 1000000)));
    }
    String shown = seconds == Math.rint(seconds) ? String.valueOf((long) seconds) : String.valueOf(seconds);
    return "slept " + shown + " s";
  }
}
