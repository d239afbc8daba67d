package sjs.api;

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
}
