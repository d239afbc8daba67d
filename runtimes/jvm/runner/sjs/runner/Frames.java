package sjs.runner;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** The protocol's framing: a 4-byte big-endian payload length, then that much UTF-8 JSON. */
final class Frames {
  /** The largest payload either side may send (docs/worker-protocol.md). */
  static final int MAX_FRAME = 64 * 1024 * 1024;

  /** A frame whose header announced more than {@link #MAX_FRAME}; its payload was skipped. */
  static final class TooLargeFrame extends IOException {
    private static final long serialVersionUID = 1L;

    TooLargeFrame(long size) {
      super("frame of " + size + " bytes is over the " + MAX_FRAME + " byte limit");
    }
  }

  private Frames() {}

  /** The next payload, or null at a clean end of stream (before a header). */
  static String read(DataInputStream in) throws IOException {
    int b0 = in.read();
    if (b0 < 0) return null;
    long size = ((long) b0 << 24) | ((long) in.readUnsignedByte() << 16)
        | ((long) in.readUnsignedByte() << 8) | in.readUnsignedByte();
    if (size > MAX_FRAME) {
      // stay in step with the stream: drop the payload without buffering it (read, not
      // skip(): FileInputStream.skip seeks, and a socket cannot seek)
      byte[] scratch = new byte[1 << 16];
      long left = size;
      while (left > 0) {
        int n = in.read(scratch, 0, (int) Math.min(scratch.length, left));
        if (n < 0) throw new EOFException("end of stream inside a frame");
        left -= n;
      }
      throw new TooLargeFrame(size);
    }
    byte[] payload = new byte[(int) size];
    in.readFully(payload);
    return new String(payload, StandardCharsets.UTF_8);
  }

  /** Encodes a payload; throws {@link Json.TooLarge} if it passes the limit. */
  static byte[] encode(String json) {
    byte[] payload = json.getBytes(StandardCharsets.UTF_8);
    if (payload.length > MAX_FRAME) {
      throw new Json.TooLarge(payload.length + " bytes of JSON, over the " + MAX_FRAME + " byte frame limit");
    }
    byte[] frame = new byte[4 + payload.length];
    int n = payload.length;
    frame[0] = (byte) (n >>> 24);
    frame[1] = (byte) (n >>> 16);
    frame[2] = (byte) (n >>> 8);
    frame[3] = (byte) n;
    System.arraycopy(payload, 0, frame, 4, n);
    return frame;
  }

  static void write(OutputStream out, byte[] frame) throws IOException {
    out.write(frame);
    out.flush();
  }
}
