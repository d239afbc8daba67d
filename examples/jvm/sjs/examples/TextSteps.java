package sjs.examples;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import sjs.api.JobContext;
import sjs.api.Step;

/**
 * A step library: steps a pipeline runs by name, with no job class to write.
 *
 * <pre>
 * sjs binary upload ex build/sjs-examples.jar
 * sjs binary steps ex
 * sjs job submit ex --steps '[["load"], ["words"], ["countByValue"], ["top", 2]]' \
 *     --conf input.string="the cat the dog the end cat" --sync      # [["the", 3], ["cat", 2]]
 * </pre>
 */
public final class TextSteps {
  private TextSteps() {}

  @Step(doc = "The lines of config input.string.")
  public static List<String> load(JobContext ctx, Object data) {
    return Arrays.asList(ctx.config().getString("input.string").split("\r?\n"));
  }

  @Step(doc = "Splits every line into words.")
  public static List<String> words(JobContext ctx, Object data) {
    List<String> out = new ArrayList<String>();
    for (Object line : lines(data, "words")) {
      for (String w : String.valueOf(line).trim().split("\\s+")) {
        if (!w.isEmpty()) out.add(w);
      }
    }
    return out;
  }

  @Step(doc = "Counts each distinct value: {value: count}, in order of first appearance.")
  public static Map<String, Long> countByValue(JobContext ctx, Object data) {
    Map<String, Long> counts = new LinkedHashMap<String, Long>();
    for (Object v : lines(data, "countByValue")) {
      String k = String.valueOf(v);
      Long n = counts.get(k);
      counts.put(k, n == null ? 1L : n + 1);
    }
    return counts;
  }

  @Step(doc = "The n most frequent values of a countByValue: [[value, count], ...], most frequent first.")
  public static List<List<Object>> top(JobContext ctx, Object data, int n) {
    if (!(data instanceof Map)) throw new IllegalArgumentException("top needs the counts of countByValue");
    List<Map.Entry<?, ?>> entries = new ArrayList<Map.Entry<?, ?>>(((Map<?, ?>) data).entrySet());
    Collections.sort(entries, new Comparator<Map.Entry<?, ?>>() {
      @Override
      public int compare(Map.Entry<?, ?> a, Map.Entry<?, ?> b) {
        int c = Long.compare(((Number) b.getValue()).longValue(), ((Number) a.getValue()).longValue());
        return c != 0 ? c : String.valueOf(a.getKey()).compareTo(String.valueOf(b.getKey()));
      }
    });
    List<List<Object>> out = new ArrayList<List<Object>>();
    for (Map.Entry<?, ?> e : entries.subList(0, Math.max(0, Math.min(n, entries.size())))) {
      out.add(Arrays.<Object>asList(e.getKey(), e.getValue()));
    }
    return out;
  }

  private static Iterable<?> lines(Object data, String step) {
    if (data instanceof Iterable) return (Iterable<?>) data;
    throw new IllegalArgumentException(step + " needs a list from the step before it (load, words), not " + data);
  }
}
