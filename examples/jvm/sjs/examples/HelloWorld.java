package sjs.examples;

import sjs.api.Config;
import sjs.api.Job;
import sjs.api.JobContext;

/** The smallest job: returns "Hi!". */
public class HelloWorld implements Job {
  @Override
  public Object run(JobContext ctx, Config config) {
    return "Hi!";
  }
}
