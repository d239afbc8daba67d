package sjs.runner;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds {@code failed} messages: {job, kind, error: {message, errorClass, stack}}. */
final class Failures {
  static final String VALIDATION = "validation";
  static final String LOADING = "loading";
  static final String ERROR = "error";
  static final String KILLED = "killed";

  private static final int MAX_LINES = 1000; // a runaway recursion should not fill the frame

  private Failures() {}

  /**
   * The daemon decodes failed strictly (docs/worker-protocol.md): message and errorClass are
   * strings and stack an array of strings, never null, whatever a job's validate() returned.
   */
  static Map<String, Object> failed(Object job, String kind, String message, String errorClass, List<String> stack) {
    List<String> lines = new ArrayList<String>();
    if (stack != null) {
      for (Object line : stack) lines.add(String.valueOf(line));
    }
    Map<String, Object> error = new LinkedHashMap<String, Object>();
    error.put("message", message != null ? message : String.valueOf(errorClass));
    error.put("errorClass", errorClass != null ? errorClass : "sjs.Error");
    error.put("stack", lines);
    Map<String, Object> m = Channel.message("failed");
    m.put("job", job);
    m.put("kind", kind);
    m.put("error", error);
    return m;
  }

  static Map<String, Object> failed(Object job, String kind, Throwable t) {
    return failed(job, kind, message(t), t.getClass().getName(), stack(t));
  }

  /** getMessage(), or the class name when there is none. */
  static String message(Throwable t) {
    String m = t.getMessage();
    return m != null && !m.isEmpty() ? m : t.getClass().getName();
  }

  /**
   * The trace as printStackTrace() would show it, one string per line without the first:
   * "at ..." frames, then a "Caused by: ..." line and "at ..." frames per cause, common
   * trailing frames folded into "... n more".
   */
  static List<String> stack(Throwable t) {
    List<String> out = new ArrayList<String>();
    Map<Throwable, Boolean> seen = new IdentityHashMap<Throwable, Boolean>();
    StackTraceElement[] enclosing = null;
    for (Throwable cur = t; cur != null && !seen.containsKey(cur); cur = cur.getCause()) {
      seen.put(cur, Boolean.TRUE);
      if (cur != t) out.add("Caused by: " + cur);
      StackTraceElement[] frames = cur.getStackTrace();
      int common = 0;
      if (enclosing != null) {
        int i = frames.length - 1;
        int j = enclosing.length - 1;
        while (i >= 0 && j >= 0 && frames[i--].equals(enclosing[j--])) common++;
      }
      for (int i = 0; i < frames.length - common; i++) out.add("at " + frames[i]);
      if (common > 0) out.add("... " + common + " more");
      enclosing = frames;
      if (out.size() > MAX_LINES) {
        List<String> cut = new ArrayList<String>(out.subList(0, MAX_LINES));
        cut.add("... (trace cut at " + MAX_LINES + " lines)");
        return cut;
      }
    }
    return out;
  }
}
