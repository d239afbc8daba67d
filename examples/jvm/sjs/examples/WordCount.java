package sjs.examples;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import sjs.api.Config;
import sjs.api.Job;
import sjs.api.JobContext;

/** Counts the words of {@code input.string}: {"input":{"string":"a b a"}} gives {"a":2,"b":1}. */
public class WordCount implements Job {
  @Override
  public List<String> validate(JobContext ctx, Config config) {
    List<String> problems = new ArrayList<String>();
    if (!config.hasPath("input.string")) problems.add("missing input.string");
    return problems;
  }

  @Override
  public Object run(JobContext ctx, Config config) {
    Map<String, Long> counts = new TreeMap<String, Long>(); // sorted: a stable result to show
    for (String word : config.getString("input.string").split("\\s+")) {
      if (word.isEmpty()) continue;
      Long n = counts.get(word);
      counts.put(word, n == null ? 1L : n + 1);
    }
    return counts;
  }
}
