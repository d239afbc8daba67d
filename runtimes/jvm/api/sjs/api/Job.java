package sjs.api;

import java.util.Collections;
import java.util.List;

/**
 * A job that sjs runs inside a jvm or spark context.
 *
 * <p>The runner creates a new instance (public no-argument constructor) for every run, calls
 * {@link #validate} and, when it finds no problems, {@link #run} on a thread of its own. The
 * value {@code run} returns becomes the job's JSON result: null, booleans, numbers, strings,
 * arrays, collections, maps, records and beans convert naturally; anything else by
 * {@code toString()}.
 */
public interface Job {
  /**
   * Checks the config before the job starts. Problems are reported as a validation failure
   * and {@link #run} is not called.
   *
   * @return problems found, each a human-readable sentence; empty (or null) when valid
   */
  default List<String> validate(JobContext ctx, Config config) {
    return Collections.emptyList();
  }

  /**
   * Does the work. Throwing fails the job; after a cancel, throwing or returning both end the
   * job as killed. Long loops should call {@link JobContext#checkCancelled()} now and then.
   */
  Object run(JobContext ctx, Config config) throws Exception;
}
