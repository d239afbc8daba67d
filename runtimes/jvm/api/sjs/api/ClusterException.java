package sjs.api;

/**
 * A cluster of partition servers could not be opened, or failed while serving (a partition kept
 * failing past its restarts): thrown by {@link JobContext#servePartitions}. The message says what
 * happened and, where there is one, what to do.
 */
public class ClusterException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ClusterException(String message) {
    super(message);
  }

  public ClusterException(String message, Throwable cause) {
    super(message, cause);
  }
}
