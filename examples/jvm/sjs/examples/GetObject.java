package sjs.examples;

import java.util.NoSuchElementException;

import sjs.api.Config;
import sjs.api.Job;
import sjs.api.JobContext;

/** Returns the named object {@code name} (default "shared"); fails if there is none. */
public class GetObject implements Job {
  @Override
  public Object run(JobContext ctx, Config config) {
    String name = config.getString("name", "shared");
    Object value = ctx.namedObjects().get(name);
    if (value == null) throw new NoSuchElementException("no named object " + name + " in context " + ctx.contextName());
    return value;
  }
}
