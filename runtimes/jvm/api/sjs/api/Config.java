package sjs.api;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An immutable view of a job's JSON config, addressed by dotted paths ({@code "input.string"}).
 *
 * <p>Values are what JSON gives: {@code Map<String,Object>}, {@code List<Object>}, String, Long,
 * Double, Boolean. Getters convert leniently, as HOCON does: numbers between number types,
 * {@code "42"} for numbers, {@code "true"/"yes"/"on"} and {@code "false"/"no"/"off"} for
 * booleans, scalars to strings. A missing path, or one whose value is null, throws
 * {@code IllegalArgumentException("missing config key: a.b")}; a value of the wrong kind throws
 * IllegalArgumentException naming the key.
 */
public final class Config {
  private final Map<String, Object> root;

  /** A config over a copy of {@code values} (nested maps and lists are copied too). */
  public Config(Map<String, ?> values) {
    this(freezeMap(values), true);
  }

  private Config(Map<String, Object> frozen, boolean trusted) {
    this.root = frozen;
  }

  /** An empty config. */
  public static Config empty() {
    return new Config(Collections.<String, Object>emptyMap(), true);
  }

  /** True if the path exists and its value is not null. */
  public boolean hasPath(String path) {
    return lookup(root, path) != null;
  }

  /** The raw value: Map, List, String, Long, Double or Boolean (all immutable). */
  public Object get(String path) {
    Object v = lookup(root, path);
    if (v == null) throw new IllegalArgumentException("missing config key: " + path);
    return v;
  }

  public String getString(String path) {
    Object v = get(path);
    if (v instanceof String) return (String) v;
    if (v instanceof Number || v instanceof Boolean) return String.valueOf(v);
    throw wrongType(path, "a string", v);
  }

  public String getString(String path, String def) {
    return hasPath(path) ? getString(path) : def;
  }

  public long getLong(String path) {
    Object v = get(path);
    if (v instanceof Number) return numberToLong(path, (Number) v);
    if (v instanceof String) {
      String s = ((String) v).trim();
      try {
        return Long.parseLong(s);
      } catch (NumberFormatException e) {
        return numberToLong(path, parseDouble(path, v));
      }
    }
    throw wrongType(path, "a number", v);
  }

  public long getLong(String path, long def) {
    return hasPath(path) ? getLong(path) : def;
  }

  public int getInt(String path) {
    long l = getLong(path);
    if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("config key " + path + ": " + l + " is out of range for an int");
    }
    return (int) l;
  }

  public int getInt(String path, int def) {
    return hasPath(path) ? getInt(path) : def;
  }

  public double getDouble(String path) {
    Object v = get(path);
    if (v instanceof Number) return ((Number) v).doubleValue();
    if (v instanceof String) return parseDouble(path, v);
    throw wrongType(path, "a number", v);
  }

  public double getDouble(String path, double def) {
    return hasPath(path) ? getDouble(path) : def;
  }

  public boolean getBoolean(String path) {
    Object v = get(path);
    if (v instanceof Boolean) return (Boolean) v;
    if (v instanceof String) {
      String s = ((String) v).trim().toLowerCase(java.util.Locale.ROOT);
      if (s.equals("true") || s.equals("yes") || s.equals("on")) return true;
      if (s.equals("false") || s.equals("no") || s.equals("off")) return false;
    }
    throw wrongType(path, "a boolean", v);
  }

  public boolean getBoolean(String path, boolean def) {
    return hasPath(path) ? getBoolean(path) : def;
  }

  /** The list at {@code path} (immutable). */
  @SuppressWarnings("unchecked")
  public List<Object> getList(String path) {
    Object v = get(path);
    if (v instanceof List) return (List<Object>) v;
    throw wrongType(path, "a list", v);
  }

  /** The object at {@code path} as a Config of its own. */
  @SuppressWarnings("unchecked")
  public Config getConfig(String path) {
    Object v = get(path);
    if (v instanceof Map) return new Config((Map<String, Object>) v, true);
    throw wrongType(path, "an object", v);
  }

  /** The whole config as an immutable map. */
  public Map<String, Object> toMap() {
    return root;
  }

  /** The top-level keys. */
  public Set<String> keys() {
    return root.keySet();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Config && ((Config) o).root.equals(root);
  }

  @Override
  public int hashCode() {
    return root.hashCode();
  }

  @Override
  public String toString() {
    return "Config" + root;
  }

  // A path segment may itself contain dots (a flat key "a.b" next to nested ones), so try the
  // whole remaining path as a key first, then every split point from the left.
  @SuppressWarnings("unchecked")
  private static Object lookup(Map<String, Object> map, String path) {
    if (path == null) throw new IllegalArgumentException("config path is null");
    Object direct = map.get(path);
    if (direct != null) return direct;
    for (int i = path.indexOf('.'); i >= 0; i = path.indexOf('.', i + 1)) {
      Object head = map.get(path.substring(0, i));
      if (head instanceof Map) {
        Object v = lookup((Map<String, Object>) head, path.substring(i + 1));
        if (v != null) return v;
      }
    }
    return null;
  }

  private static long numberToLong(String path, Number n) {
    if (n instanceof Long || n instanceof Integer || n instanceof Short || n instanceof Byte) {
      return n.longValue();
    }
    if (n instanceof BigInteger || n instanceof BigDecimal) {
      BigInteger b = n instanceof BigInteger ? (BigInteger) n : ((BigDecimal) n).toBigInteger();
      if (b.bitLength() > 63) {
        throw new IllegalArgumentException("config key " + path + ": " + n + " is out of range for a long");
      }
      return b.longValue();
    }
    double d = n.doubleValue();
    if (Double.isNaN(d) || d < -9.223372036854776E18 || d >= 9.223372036854776E18) {
      throw new IllegalArgumentException("config key " + path + ": " + n + " is out of range for a long");
    }
    return (long) d; // truncates toward zero, as HOCON's getLong does
  }

  private static double parseDouble(String path, Object v) {
    try {
      return Double.parseDouble(((String) v).trim());
    } catch (NumberFormatException e) {
      throw wrongType(path, "a number", v);
    }
  }

  private static IllegalArgumentException wrongType(String path, String expected, Object v) {
    String got;
    if (v instanceof Map) got = "an object";
    else if (v instanceof List) got = "a list";
    else if (v instanceof String) got = "string \"" + v + "\"";
    else got = v.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT) + " " + v;
    return new IllegalArgumentException("config key " + path + ": expected " + expected + ", got " + got);
  }

  private static Map<String, Object> freezeMap(Map<?, ?> m) {
    if (m == null) return Collections.emptyMap();
    Map<String, Object> out = new LinkedHashMap<String, Object>();
    for (Map.Entry<?, ?> e : m.entrySet()) out.put(String.valueOf(e.getKey()), freeze(e.getValue()));
    return Collections.unmodifiableMap(out);
  }

  private static Object freeze(Object v) {
    if (v instanceof Map) return freezeMap((Map<?, ?>) v);
    if (v instanceof Config) return ((Config) v).root;
    if (v instanceof List) {
      List<Object> out = new ArrayList<Object>(((List<?>) v).size());
      for (Object o : (List<?>) v) out.add(freeze(o));
      return Collections.unmodifiableList(out);
    }
    return v;
  }
}
