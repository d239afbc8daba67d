package sjs.api;

/**
 * How {@link JobContext#servePartitions} runs the partition servers. Setters return this:
 * {@code new ServeOptions().port(8100).maxRestarts(5)}.
 */
public final class ServeOptions {
  private String host;
  private int port;
  private String bind = "";
  private int maxRestarts = 3;

  /**
   * The host name the servers advertise to sjsd (and so to clients). Default: the environment
   * variable SJS_CLUSTER_HOST, else this machine's name.
   */
  public ServeOptions host(String host) {
    this.host = host;
    return this;
  }

  /** 0 (the default): each server binds any free port; N: partition i binds port N + i. */
  public ServeOptions port(int port) {
    if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be 0 (any free port) or 1-65535, not " + port);
    this.port = port;
    return this;
  }

  /** The interface the servers listen on: "" (the default) for all, or an address such as "127.0.0.1". */
  public ServeOptions bind(String bind) {
    this.bind = bind != null ? bind : "";
    return this;
  }

  /** How many times one partition's server is restarted after a failure before the cluster fails (default 3). */
  public ServeOptions maxRestarts(int maxRestarts) {
    if (maxRestarts < 0) throw new IllegalArgumentException("maxRestarts must be 0 or more, not " + maxRestarts);
    this.maxRestarts = maxRestarts;
    return this;
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  public String bind() {
    return bind;
  }

  public int maxRestarts() {
    return maxRestarts;
  }
}
