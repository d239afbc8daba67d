package sjs.examples;

import sjs.api.Config;
import sjs.api.Job;
import sjs.api.JobContext;

/** Throws IllegalStateException("boom") with a cause, to show how failures are reported. */
public class Fail implements Job {
  @Override
  public Object run(JobContext ctx, Config config) {
    try {
      Integer.parseInt("not a number");
      return null;
    } catch (NumberFormatException e) {
      throw new IllegalStateException("boom", e);
    }
  }
}
