package sjs.runner;

import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The runner's half of the socket to the daemon, for writing. Job threads and the reader all
 * send through here; one lock keeps their frames from interleaving.
 */
final class Channel {
  private final OutputStream out;
  private final Object lock = new Object();
  private volatile boolean broken;

  Channel(OutputStream out) {
    this.out = out;
  }

  /** A message of the given type; add fields with put(), then send(). */
  static Map<String, Object> message(String type) {
    Map<String, Object> m = new LinkedHashMap<String, Object>();
    m.put("type", type);
    return m;
  }

  /**
   * Encodes and sends. Throws {@link Json.TooLarge} (before anything is written) if the frame
   * would pass the limit, so the caller can send something smaller instead.
   */
  void send(Map<String, Object> message) {
    byte[] frame = Frames.encode(Json.write(message, Frames.MAX_FRAME));
    synchronized (lock) {
      if (broken) return;
      try {
        Frames.write(out, frame);
      } catch (IOException e) {
        // the daemon is gone; the reader sees end of stream and exits, nothing to do here
        broken = true;
        Log.warn("cannot write to the daemon: " + e.getMessage());
      }
    }
  }
}
