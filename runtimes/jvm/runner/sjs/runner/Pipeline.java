package sjs.runner;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * A step pipeline (run.steps, docs/worker-protocol.md): checked whole against a
 * {@link StepLibrary} before any step runs. The problems' wording is the Python runner's.
 */
final class Pipeline {
  /** One checked step: its method and its arguments, converted to the parameters' types. */
  static final class Call {
    final String name;
    final StepLibrary.Def def;
    final Object[] args;

    Call(String name, StepLibrary.Def def, Object[] args) {
      this.name = name;
      this.def = def;
      this.args = args;
    }
  }

  final List<Call> calls = new ArrayList<Call>();
  final List<String> problems = new ArrayList<String>();

  private Pipeline() {}

  /** Checks every item of {@code steps}; problems name the step's 1-based index. */
  static Pipeline check(List<?> steps, StepLibrary lib, String libName) {
    Pipeline p = new Pipeline();
    p.problems.addAll(lib.problems);
    if (lib.steps.isEmpty()) {
      p.problems.add(StepLibrary.noSteps(libName));
      return p;
    }
    if (steps.isEmpty()) {
      p.problems.add("the pipeline has no steps");
      return p;
    }
    String known = join(lib.steps.keySet(), ", ");
    int i = 0;
    for (Object item : steps) {
      i++;
      if (!(item instanceof List) || ((List<?>) item).isEmpty()) {
        p.problems.add("step " + i + ": must be an array [\"name\", arg...], not " + shown(item));
        continue;
      }
      List<?> l = (List<?>) item;
      if (!(l.get(0) instanceof String)) {
        p.problems.add("step " + i + ": its first element must be the step's name (a string), not " + shown(l.get(0)));
        continue;
      }
      String name = (String) l.get(0);
      String where = "step " + i + " (\"" + name + "\"): ";
      StepLibrary.Def def = lib.steps.get(name);
      if (def == null) {
        p.problems.add(where + "unknown step; the library has: " + known);
        continue;
      }
      if (def.defect != null) {
        p.problems.add(where + "cannot be called: " + def.qualified() + ": " + def.defect);
        continue;
      }
      List<?> given = l.subList(1, l.size());
      Class<?>[] types = def.argumentTypes();
      if (given.size() != types.length) {
        p.problems.add(where + takes(def) + ", given " + given.size());
        continue;
      }
      Object[] args = new Object[types.length];
      boolean ok = true;
      for (int a = 0; a < types.length; a++) {
        try {
          args[a] = convert(types[a], given.get(a));
        } catch (IllegalArgumentException e) {
          p.problems.add(where + "argument " + (a + 1) + " (" + def.params.get(a) + ") must be " + e.getMessage()
              + ", not " + shown(given.get(a)));
          ok = false;
        }
      }
      if (ok) p.calls.add(new Call(name, def, args));
    }
    return p;
  }

  /** "VALIDATION FAILED: " follows: "2 problems in the pipeline: p1; p2". */
  String summary() {
    int n = problems.size();
    return n + " problem" + (n == 1 ? "" : "s") + " in the pipeline: " + join(problems, "; ");
  }

  private static String takes(StepLibrary.Def def) {
    int n = def.params.size();
    if (n == 0) return "takes no arguments";
    return "takes " + n + " argument" + (n == 1 ? "" : "s") + " (" + join(def.params, ", ") + ")";
  }

  /** The JSON value {@code v} as a {@code t}; IllegalArgumentException("an int") when it is not one. */
  static Object convert(Class<?> t, Object v) {
    if (t == Object.class) return v;
    if (v == null) {
      if (t.isPrimitive()) throw new IllegalArgumentException(kind(t));
      return null;
    }
    if (t == String.class) {
      if (v instanceof String) return v;
    } else if (t == int.class || t == Integer.class) {
      Long l = integral(v, Integer.MIN_VALUE, Integer.MAX_VALUE);
      if (l != null) return Integer.valueOf(l.intValue());
    } else if (t == long.class || t == Long.class) {
      Long l = integral(v, Long.MIN_VALUE, Long.MAX_VALUE);
      if (l != null) return l;
    } else if (t == double.class || t == Double.class) {
      if (v instanceof Number) return Double.valueOf(((Number) v).doubleValue());
    } else if (t == boolean.class || t == Boolean.class) {
      if (v instanceof Boolean) return v;
    } else if (t == List.class || t == Collection.class || t == Iterable.class) {
      if (v instanceof List) return v;
    } else if (t == Map.class) {
      if (v instanceof Map) return v;
    }
    throw new IllegalArgumentException(kind(t));
  }

  /** A whole number in [min, max], or null. */
  private static Long integral(Object v, long min, long max) {
    if (v instanceof Long || v instanceof Integer) {
      long l = ((Number) v).longValue();
      return l >= min && l <= max ? Long.valueOf(l) : null;
    }
    if (v instanceof Double) {
      double d = (Double) v;
      // 3.0 is a whole number; 2.5, NaN and 1e300 are not (2^63 is the first double past Long.MAX_VALUE)
      if (d != Math.rint(d) || Double.isInfinite(d) || d < min || d >= 9.223372036854775807E18 || d > max) return null;
      return Long.valueOf((long) d);
    }
    return null;
  }

  private static String kind(Class<?> t) {
    if (t == String.class) return "a string";
    if (t == int.class || t == Integer.class) return "an int";
    if (t == long.class || t == Long.class) return "a long";
    if (t == double.class || t == Double.class) return "a number";
    if (t == boolean.class || t == Boolean.class) return "a boolean";
    if (t == Map.class) return "an object";
    return "an array";
  }

  private static String shown(Object v) {
    String s = Json.write(v);
    return s.length() > 200 ? s.substring(0, 200) : s;
  }

  static String join(Iterable<String> parts, String sep) {
    StringBuilder b = new StringBuilder();
    for (String s : parts) {
      if (b.length() > 0) b.append(sep);
      b.append(s);
    }
    return b.toString();
  }
}
