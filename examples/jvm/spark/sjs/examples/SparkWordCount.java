package sjs.examples;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.spark.api.java.JavaSparkContext;

import scala.Tuple2;
import sjs.api.Config;
import sjs.api.Job;
import sjs.api.JobContext;

/** WordCount on Spark: the words of {@code input.string} counted by reduceByKey. */
public class SparkWordCount implements Job {
  @Override
  public List<String> validate(JobContext ctx, Config config) {
    List<String> problems = new ArrayList<String>();
    if (!ctx.hasSpark()) problems.add("this job needs a Spark context: create it with --runtime spark");
    if (!config.hasPath("input.string")) problems.add("missing input.string");
    return problems;
  }

  @Override
  public Object run(JobContext ctx, Config config) {
    JavaSparkContext sc = ctx.spark(JavaSparkContext.class);
    List<String> words = new ArrayList<String>();
    for (String w : Arrays.asList(config.getString("input.string").split("\\s+"))) {
      if (!w.isEmpty()) words.add(w);
    }
    Map<String, Integer> counts = sc.parallelize(words)
        .mapToPair(w -> new Tuple2<String, Integer>(w, 1))
        .reduceByKey((a, b) -> a + b)
        .collectAsMap();
    return new TreeMap<String, Integer>(counts);
  }
}
