package sjs.examples;

import sjs.api.Config;
import sjs.api.Job;
import sjs.api.JobContext;

/**
 * Calls System.exit({@code code}, default 3): what a badly behaved job does to its context.
 * The JVM ends; the daemon fails the context's running jobs and restarts it.
 */
public class Exit implements Job {
  @Override
  public Object run(JobContext ctx, Config config) {
    System.exit(config.getInt("code", 3));
    return null;
  }
}
