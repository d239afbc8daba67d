package sjs.examples;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import sjs.api.Config;
import sjs.api.Job;
import sjs.api.JobContext;

/** Stores config {@code value} as the named object {@code name} (default "shared"). */
public class PutObject implements Job {
  @Override
  public List<String> validate(JobContext ctx, Config config) {
    List<String> problems = new ArrayList<String>();
    if (!config.hasPath("value")) problems.add("missing value");
    return problems;
  }

  @Override
  public Object run(JobContext ctx, Config config) {
    String name = config.getString("name", "shared");
    Object value = config.get("value");
    ctx.namedObjects().put(name, value);
    Map<String, Object> out = new LinkedHashMap<String, Object>();
    out.put("name", name);
    out.put("value", value);
    return out;
  }
}
