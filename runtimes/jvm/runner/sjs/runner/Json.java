package sjs.runner;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON reader and writer (the runner may depend on nothing but the JDK).
 *
 * <p>Parsing gives {@code Map<String,Object>} (insertion-ordered), {@code List<Object>}, String,
 * Long (integers that fit), Double (everything else numeric), Boolean and null. Writing accepts
 * those plus any Number, Collection, array of Object and Map (keys by toString()).
 */
final class Json {
  private static final int MAX_DEPTH = 1000; // deeper input is hostile or broken: refuse, don't overflow the stack

  /** Thrown by {@link #write(Object, int)} as soon as the output passes the limit. */
  static final class TooLarge extends RuntimeException {
    private static final long serialVersionUID = 1L;

    TooLarge(String message) {
      super(message, null, false, false);
    }
  }

  private Json() {}

  // ---------------------------------------------------------------- parsing

  static Object parse(String text) {
    Parser p = new Parser(text);
    p.skipSpace();
    Object v = p.value(0);
    p.skipSpace();
    if (p.pos != text.length()) throw p.error("trailing characters");
    return v;
  }

  private static final class Parser {
    final String s;
    int pos;

    Parser(String s) {
      this.s = s;
    }

    IllegalArgumentException error(String what) {
      return new IllegalArgumentException("bad JSON at offset " + pos + ": " + what);
    }

    void skipSpace() {
      while (pos < s.length()) {
        char c = s.charAt(pos);
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        pos++;
      }
    }

    Object value(int depth) {
      if (depth > MAX_DEPTH) throw error("nested too deeply");
      if (pos >= s.length()) throw error("unexpected end");
      char c = s.charAt(pos);
      switch (c) {
        case '{': return object(depth);
        case '[': return array(depth);
        case '"': return string();
        case 't': return literal("true", Boolean.TRUE);
        case 'f': return literal("false", Boolean.FALSE);
        case 'n': return literal("null", null);
        default:
          if (c == '-' || (c >= '0' && c <= '9')) return number();
          throw error("unexpected character '" + c + "'");
      }
    }

    Object literal(String word, Object v) {
      if (!s.startsWith(word, pos)) throw error("expected " + word);
      pos += word.length();
      return v;
    }

    Map<String, Object> object(int depth) {
      Map<String, Object> m = new LinkedHashMap<String, Object>();
      pos++;
      skipSpace();
      if (pos < s.length() && s.charAt(pos) == '}') {
        pos++;
        return m;
      }
      while (true) {
        skipSpace();
        if (pos >= s.length() || s.charAt(pos) != '"') throw error("expected a key");
        String key = string();
        skipSpace();
        if (pos >= s.length() || s.charAt(pos) != ':') throw error("expected ':'");
        pos++;
        skipSpace();
        m.put(key, value(depth + 1));
        skipSpace();
        if (pos >= s.length()) throw error("unexpected end");
        char c = s.charAt(pos++);
        if (c == '}') return m;
        if (c != ',') throw error("expected ',' or '}'");
      }
    }

    List<Object> array(int depth) {
      List<Object> l = new ArrayList<Object>();
      pos++;
      skipSpace();
      if (pos < s.length() && s.charAt(pos) == ']') {
        pos++;
        return l;
      }
      while (true) {
        skipSpace();
        l.add(value(depth + 1));
        skipSpace();
        if (pos >= s.length()) throw error("unexpected end");
        char c = s.charAt(pos++);
        if (c == ']') return l;
        if (c != ',') throw error("expected ',' or ']'");
      }
    }

    String string() {
      pos++; // opening quote
      StringBuilder b = null;
      int start = pos;
      while (true) {
        if (pos >= s.length()) throw error("unterminated string");
        char c = s.charAt(pos);
        if (c == '"') {
          String out = b == null ? s.substring(start, pos) : b.append(s, start, pos).toString();
          pos++;
          return out;
        }
        if (c < 0x20) throw error("control character in string");
        if (c != '\\') {
          pos++;
          continue;
        }
        if (b == null) b = new StringBuilder();
        b.append(s, start, pos);
        pos++;
        if (pos >= s.length()) throw error("unterminated escape");
        char e = s.charAt(pos++);
        switch (e) {
          case '"': b.append('"'); break;
          case '\\': b.append('\\'); break;
          case '/': b.append('/'); break;
          case 'b': b.append('\b'); break;
          case 'f': b.append('\f'); break;
          case 'n': b.append('\n'); break;
          case 'r': b.append('\r'); break;
          case 't': b.append('\t'); break;
          case 'u':
            if (pos + 4 > s.length()) throw error("short \\u escape");
            try {
              b.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
            } catch (NumberFormatException ex) {
              throw error("bad \\u escape");
            }
            pos += 4;
            break;
          default:
            throw error("bad escape '\\" + e + "'");
        }
        start = pos;
      }
    }

    Object number() {
      int start = pos;
      boolean integral = true;
      if (s.charAt(pos) == '-') pos++;
      int digits = pos;
      while (pos < s.length() && isDigit(s.charAt(pos))) pos++;
      if (pos == digits) throw error("expected digits");
      if (pos < s.length() && s.charAt(pos) == '.') {
        integral = false;
        pos++;
        int frac = pos;
        while (pos < s.length() && isDigit(s.charAt(pos))) pos++;
        if (pos == frac) throw error("expected digits after '.'");
      }
      if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
        integral = false;
        pos++;
        if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) pos++;
        int exp = pos;
        while (pos < s.length() && isDigit(s.charAt(pos))) pos++;
        if (pos == exp) throw error("expected exponent digits");
      }
      String text = s.substring(start, pos);
      if (integral) {
        try {
          return Long.valueOf(text);
        } catch (NumberFormatException tooBig) {
          // fall through: a huge integer becomes a double, as most JSON readers do
        }
      }
      return Double.valueOf(text);
    }

    static boolean isDigit(char c) {
      return c >= '0' && c <= '9';
    }
  }

  // ---------------------------------------------------------------- writing

  static String write(Object v) {
    return write(v, Integer.MAX_VALUE);
  }

  /** Writes {@code v}; throws {@link TooLarge} once the text passes {@code maxChars}. */
  static String write(Object v, int maxChars) {
    Writer w = new Writer(maxChars);
    w.value(v, 0);
    return w.out.toString();
  }

  private static final class Writer {
    final StringBuilder out = new StringBuilder();
    final int max;

    Writer(int max) {
      this.max = max;
    }

    void check() {
      if (out.length() > max) throw new TooLarge("more than " + max + " characters of JSON");
    }

    void value(Object v, int depth) {
      if (depth > MAX_DEPTH) throw new IllegalArgumentException("JSON nested too deeply");
      if (v == null) {
        out.append("null");
      } else if (v instanceof String) {
        string((String) v);
      } else if (v instanceof Boolean) {
        out.append(((Boolean) v).booleanValue() ? "true" : "false");
      } else if (v instanceof Number) {
        number((Number) v);
      } else if (v instanceof Map) {
        out.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
          if (!first) out.append(',');
          first = false;
          string(String.valueOf(e.getKey()));
          out.append(':');
          value(e.getValue(), depth + 1);
        }
        out.append('}');
      } else if (v instanceof Collection) {
        out.append('[');
        boolean first = true;
        for (Object o : (Collection<?>) v) {
          if (!first) out.append(',');
          first = false;
          value(o, depth + 1);
        }
        out.append(']');
      } else if (v instanceof Object[]) {
        out.append('[');
        Object[] a = (Object[]) v;
        for (int i = 0; i < a.length; i++) {
          if (i > 0) out.append(',');
          value(a[i], depth + 1);
        }
        out.append(']');
      } else {
        string(v.toString());
      }
      check();
    }

    void number(Number n) {
      if (n instanceof Double || n instanceof Float) {
        double d = n.doubleValue();
        // JSON has no NaN or infinities
        if (Double.isNaN(d) || Double.isInfinite(d)) out.append("null");
        else out.append(n.toString());
      } else if (n instanceof Long || n instanceof Integer || n instanceof Short || n instanceof Byte
          || n instanceof BigInteger) {
        out.append(n.toString());
      } else if (n instanceof BigDecimal) {
        out.append(n.toString());
      } else {
        // AtomicLong, LongAdder, a user's Number: trust toString only if it is a JSON number
        String t = n.toString();
        if (t.matches("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?")) out.append(t);
        else number(Double.valueOf(n.doubleValue()));
      }
    }

    void string(String s) {
      out.append('"');
      int start = 0;
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        String esc = null;
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c < 0x20 || c == 0x2028 || c == 0x2029 || Character.isSurrogate(c) && !pairedSurrogate(s, i)) {
          // lone surrogates would become '?' in UTF-8: escape them so nothing is lost silently
          esc = String.format("\\u%04x", (int) c);
        } else if (Character.isHighSurrogate(c)) {
          i++; // keep the pair together
          continue;
        }
        if (esc != null) {
          out.append(s, start, i).append(esc);
          start = i + 1;
        }
        if ((i & 0xffff) == 0) check();
      }
      out.append(s, start, s.length()).append('"');
    }

    static boolean pairedSurrogate(String s, int i) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
      return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }
  }
}
