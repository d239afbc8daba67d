package sjs.api;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** What a running job can see of and do in its context. One instance per run. */
public interface JobContext {
  /** The job's id as sjs shows it. */
  String jobId();

  /** The name of the context (the resident JVM) the job runs in. */
  String contextName();

  /** The job's config; the same object {@link Job#run} receives. */
  Config config();

  /** Objects shared by every job of this context, kept until the context stops. */
  NamedObjects namedObjects();

  /** Reports progress: {@code fraction} from 0 to 1 (clamped), and a short message (may be null). */
  void progress(double fraction, String message);

  /**
   * Writes a line to the job's log. (Anything printed to System.out or System.err goes to the
   * context's log instead, shared by all its jobs.)
   */
  void log(String message);

  /** True once sjs has asked this job to stop. */
  boolean isCancelled();

  /** Throws {@link JobCancelledException} if sjs has asked this job to stop. */
  void checkCancelled() throws JobCancelledException;

  /** True when the context was created with the spark runtime. */
  boolean hasSpark();

  /**
   * The context's Spark handle of the given type: {@code org.apache.spark.SparkContext},
   * {@code org.apache.spark.sql.SparkSession} or
   * {@code org.apache.spark.api.java.JavaSparkContext}.
   *
   * @throws IllegalStateException when the context has no Spark
   * @throws IllegalArgumentException for any other type
   */
  <T> T spark(Class<T> type);

  /**
   * Like {@link #spark(Class)}, by class name, for code compiled without Spark on its
   * class path.
   */
  Object spark(String className);

  /**
   * Serves each partition of {@code partitions} with its own HTTP server, registered with sjsd
   * as cluster {@code name} (the "partition servers" of docs/partition-servers.md), and returns
   * once the cluster was stopped ({@code sjs cluster stop NAME}): each partition's
   * {@link PartitionServer#result()}, in partition order. The list is also kept as the named
   * object {@code "cluster:" + name}. Local mode: one server per partition, in this JVM.
   *
   * @param partitions a List of partitions, each an Iterable of rows (materialised once). An RDD
   *     is not supported from Java: collect it into a List, or use the Python API.
   * @param factory makes one server per partition, and a new one after each restart
   * @param name the cluster's name (1-64 of A-Z a-z 0-9 . _ -, not starting with . or -); null
   *     for the job's id
   * @param config given to every {@link PartitionServer#initPartition}; null for none
   * @throws ClusterException sjsd refused the cluster, or a partition failed past its restarts
   * @throws JobCancelledException the job was killed (its servers are shut down first)
   * @throws IllegalArgumentException bad partitions, factory or name
   */
  default <T> List<Object> servePartitions(List<? extends Iterable<T>> partitions,
      Supplier<? extends PartitionServer<T>> factory, String name, Map<String, Object> config)
      throws JobCancelledException {
    return servePartitions(partitions, factory, name, config, new ServeOptions());
  }

  /** {@link #servePartitions(List, Supplier, String, Map)} with options: host, port, bind, maxRestarts. */
  default <T> List<Object> servePartitions(List<? extends Iterable<T>> partitions,
      Supplier<? extends PartitionServer<T>> factory, String name, Map<String, Object> config,
      ServeOptions options) throws JobCancelledException {
    throw new UnsupportedOperationException("this runner does not serve partitions");
  }
}
