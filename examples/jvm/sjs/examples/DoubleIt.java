package sjs.examples;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import sjs.api.Config;
import sjs.api.Job;
import sjs.api.JobContext;

/** Doubles the numbers of {@code input.data} (default [1,2,3], giving [2,4,6]). */
public class DoubleIt implements Job {
  @Override
  public Object run(JobContext ctx, Config config) {
    List<Object> data = config.hasPath("input.data") ? config.getList("input.data") : Arrays.<Object>asList(1L, 2L, 3L);
    List<Number> out = new ArrayList<Number>();
    for (Object o : data) {
      Number n = o instanceof Number ? (Number) o : Double.valueOf(String.valueOf(o));
      // whole numbers stay whole: [1,2,3] doubles to [2,4,6], not [2.0,4.0,6.0]
      if (n instanceof Long || n instanceof Integer) out.add(n.longValue() * 2);
      else out.add(n.doubleValue() * 2);
    }
    return out;
  }
}
