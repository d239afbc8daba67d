package sjs.examples;

import java.util.UUID;
import java.util.concurrent.Callable;

import sjs.api.Config;
import sjs.api.Job;
import sjs.api.JobContext;

/**
 * getOrCreate("counter-&lt;name&gt;") with a slow creator (300 ms) whose value is unique. Run it
 * several times at once: every run returns the same value, because the creator ran once.
 */
public class CountCreate implements Job {
  @Override
  public Object run(final JobContext ctx, Config config) throws Exception {
    String name = "counter-" + config.getString("name", "shared");
    return ctx.namedObjects().getOrCreate(name, new Callable<String>() {
      @Override
      public String call() throws Exception {
        Thread.sleep(300);
        return "created by job " + ctx.jobId() + " token " + UUID.randomUUID();
      }
    }, 10000);
  }
}
