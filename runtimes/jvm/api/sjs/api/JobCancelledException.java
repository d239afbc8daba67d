package sjs.api;

/** Thrown by {@link JobContext#checkCancelled()} once the job has been cancelled. */
public class JobCancelledException extends Exception {
  private static final long serialVersionUID = 1L;

  public JobCancelledException(String message) {
    super(message);
  }
}
