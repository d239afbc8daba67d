package sjs.examples;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import sjs.api.Config;
import sjs.api.Job;
import sjs.api.JobContext;
import sjs.api.PartitionServer;
import sjs.api.Request;
import sjs.api.Response;
import sjs.api.ServeOptions;

/**
 * Partition servers: serves the numbers 0-999 in {@code partitions} (default 4) partitions, one
 * HTTP server each, registered with sjsd as cluster {@code name} (default "search"). Each answers
 * {@code /app/get_list} (its numbers, comma-separated) and {@code /app/contains?x=N} (true or
 * false). The job runs until {@code sjs cluster stop search}, then returns each partition's
 * {@code {"partition": i, "requests": n}}. Optional config: {@code host} (the name the servers
 * advertise), {@code port} (partition i binds port + i; default any free port).
 */
public class PartitionSearch implements Job {
  /** One partition's server: its numbers, and how many requests it answered. */
  public static class Server implements PartitionServer<Integer> {
    private int partition;
    private List<Integer> rows;
    private final AtomicLong requests = new AtomicLong();

    @Override
    public void setPartition(String cluster, int partition) {
      this.partition = partition;
    }

    @Override
    public void initPartition(List<Integer> rows, Config config) {
      this.rows = rows;
    }

    @Override
    public Response handle(Request request) {
      requests.incrementAndGet();
      if (request.path().equals("/get_list")) {
        StringBuilder b = new StringBuilder();
        for (Integer i : rows) {
          if (b.length() > 0) b.append(',');
          b.append(i);
        }
        return Response.text(b.toString());
      }
      if (request.path().equals("/contains")) {
        String x = request.param("x");
        if (x == null) return Response.text("usage: /app/contains?x=N\n").status(400);
        try {
          return Response.json(rows.contains(Integer.valueOf(x.trim())));
        } catch (NumberFormatException e) {
          return Response.text("x must be an integer, not " + x + "\n").status(400);
        }
      }
      return Response.text("no such page: /app" + request.path() + " (try /app/get_list or /app/contains?x=N)\n")
          .status(404);
    }

    @Override
    public Object result() {
      Map<String, Object> m = new LinkedHashMap<String, Object>();
      m.put("partition", partition);
      m.put("requests", requests.get());
      return m;
    }
  }

  @Override
  public Object run(JobContext ctx, Config config) throws Exception {
    int n = config.getInt("partitions", 4);
    List<List<Integer>> partitions = new ArrayList<List<Integer>>();
    for (int p = 0; p < n; p++) partitions.add(new ArrayList<Integer>());
    for (int i = 0; i < 1000; i++) partitions.get(Math.min(n - 1, i * n / 1000)).add(i); // contiguous ranges
    ServeOptions options = new ServeOptions().port(config.getInt("port", 0));
    if (config.hasPath("host")) options.host(config.getString("host"));
    if (config.hasPath("bind")) options.bind(config.getString("bind"));
    return ctx.servePartitions(partitions, Server::new, config.getString("name", "search"), null, options);
  }
}
