package sjs.runner;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import sjs.api.ClusterException;
import sjs.api.JobCancelledException;

/**
 * The runner's clusters of partition servers (docs/worker-protocol.md, "Clusters"): the opens
 * waiting for sjsd's cluster_opened, and the clusters being served, by job and name. One per
 * runner, owned by the {@link Worker}; the reader thread delivers cluster_opened and
 * cluster_stop here, job threads open and end clusters. Maps are concurrent; each cluster
 * guards its own state ({@link LocalCluster}).
 */
final class Clusters {
  static final long OPEN_TIMEOUT_MILLIS = 30000; // the spec's wait for cluster_opened

  private final Worker worker;
  private final AtomicLong ids = new AtomicLong();
  private final Map<Long, CompletableFuture<String>> opening = new ConcurrentHashMap<Long, CompletableFuture<String>>();
  private final Map<String, LocalCluster<?>> live = new ConcurrentHashMap<String, LocalCluster<?>>();

  Clusters(Worker worker) {
    this.worker = worker;
  }

  /**
   * Sends cluster_open and waits for sjsd's answer. Returns when sjsd accepted the cluster;
   * throws ClusterException with sjsd's reason when it refused, or when it did not answer.
   */
  void open(JobRun run, String name, int partitions) throws JobCancelledException {
    long id = ids.incrementAndGet();
    CompletableFuture<String> answer = new CompletableFuture<String>();
    opening.put(id, answer);
    try {
      Map<String, Object> m = Channel.message("cluster_open");
      m.put("id", id);
      m.put("job", run.jobRef);
      m.put("cluster", name);
      m.put("partitions", partitions);
      worker.channel.send(m);
      String error;
      try {
        error = answer.get(OPEN_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        throw new JobCancelledException("job " + run.jobId + " was cancelled");
      } catch (TimeoutException e) {
        throw new ClusterException("sjsd did not answer the opening of cluster \"" + name + "\" within "
            + OPEN_TIMEOUT_MILLIS / 1000 + " s: is it overloaded? Try again");
      } catch (ExecutionException e) {
        throw new ClusterException("cannot open cluster \"" + name + "\": " + e.getCause(), e.getCause());
      }
      if (error != null && !error.isEmpty()) throw new ClusterException(error);
    } finally {
      opening.remove(id);
    }
  }

  /** From the reader: {"type":"cluster_opened","id":N,"error":""}. */
  void opened(Map<String, Object> m) {
    Object id = m.get("id");
    CompletableFuture<String> answer = id instanceof Number ? opening.get(((Number) id).longValue()) : null;
    if (answer == null) {
      Log.warn("cluster_opened for no open waiting (id " + id + "): ignored");
      return;
    }
    Object error = m.get("error");
    answer.complete(error == null ? "" : String.valueOf(error));
  }

  /** From the reader: {"type":"cluster_stop","job":J,"cluster":NAME}. */
  void stop(Map<String, Object> m) {
    LocalCluster<?> c = live.get(key(String.valueOf(m.get("job")), String.valueOf(m.get("cluster"))));
    if (c == null) {
      Log.info("cluster_stop for " + m.get("cluster") + " of job " + m.get("job") + ", which this runner does not serve: ignored");
      return;
    }
    c.requestStop();
  }

  /** From a cancel (or shutdown): every cluster of the job shuts its servers down at once. */
  void cancelJob(String jobId) {
    List<LocalCluster<?>> all = new ArrayList<LocalCluster<?>>(live.values());
    for (LocalCluster<?> c : all) {
      if (c.run.jobId.equals(jobId)) c.requestCancel();
    }
  }

  /** Throws ClusterException when the job already serves a cluster of that name. */
  void add(LocalCluster<?> c) {
    if (live.putIfAbsent(key(c.run.jobId, c.name), c) != null) {
      throw new ClusterException("this job already serves cluster \"" + c.name + "\": give the second one another name");
    }
  }

  void remove(LocalCluster<?> c) {
    live.remove(key(c.run.jobId, c.name), c);
  }

  private static String key(String job, String cluster) {
    return job + "\n" + cluster;
  }
}
