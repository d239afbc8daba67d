package sjs.api;

import java.util.List;

/**
 * A server for one partition of a data set, started by {@link JobContext#servePartitions}: one
 * instance per partition (and a new one after each restart), each behind an HTTP server of its
 * own that sjsd registers in the cluster's address map.
 *
 * <p>The runner calls, in order: {@link #setPartition} (which partition this instance serves),
 * {@link #initPartition} (build the state from the partition's rows), then {@link #handle} for
 * every request under {@code /app/} (concurrently, from the server's threads: keep it
 * thread-safe), and {@link #result()} once, after the cluster was stopped and the server's
 * in-flight requests finished. The routes under {@code /control/} are the runner's.
 *
 * <p>An exception from the factory or {@code initPartition}, or an {@link Error} escaping
 * {@code handle}, ends this partition's server: it is restarted (a new instance) after a short
 * backoff, up to {@link ServeOptions#maxRestarts} times, then the whole cluster fails. An
 * {@link Exception} from {@code handle} is only a 500 answer, its stack in the job's log.
 */
public interface PartitionServer<T> {
  /** Which partition this instance serves, and of which cluster; called before initPartition. */
  default void setPartition(String cluster, int partition) {}

  /** Builds the partition's state. {@code rows} is the partition, materialised once (read-only). */
  default void initPartition(List<T> rows, Config config) throws Exception {}

  /** Answers one request below {@code /app} ({@link Request#path()} is the rest, e.g. "/get_list"). */
  Response handle(Request request) throws Exception;

  /**
   * What this partition leaves behind when the cluster stops (converted to JSON as a job's result
   * is); null when there is nothing. The results of all partitions, in partition order, are
   * what servePartitions returns.
   */
  default Object result() throws Exception {
    return null;
  }
}
