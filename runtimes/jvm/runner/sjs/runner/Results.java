package sjs.runner;

import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * Turns whatever a job returned into plain JSON values (docs/worker-protocol.md, "Results"):
 * null, Boolean, Number, String, List, Map with string keys. Records and beans become objects
 * of their properties, Scala collections what their Java views would be, anything else its
 * toString(). Cycles and absurd depth end in toString() rather than a stack overflow.
 */
final class Results {
  private static final int MAX_DEPTH = 200;

  private final IdentityHashMap<Object, Boolean> inProgress = new IdentityHashMap<Object, Boolean>();

  private Results() {}

  static Object toJson(Object value) {
    return new Results().convert(value, 0);
  }

  private Object convert(Object v, int depth) {
    if (v == null || v instanceof Boolean || v instanceof String) return v;
    if (v instanceof Number) return v; // Json.write knows every Number
    if (v instanceof CharSequence || v instanceof Character) return v.toString();
    if (v instanceof Enum) return ((Enum<?>) v).name();
    if (v instanceof Optional) return convert(((Optional<?>) v).orElse(null), depth);
    if (v instanceof OptionalInt) {
      OptionalInt o = (OptionalInt) v;
      return o.isPresent() ? (Object) o.getAsInt() : null;
    }
    if (v instanceof OptionalLong) {
      OptionalLong o = (OptionalLong) v;
      return o.isPresent() ? (Object) o.getAsLong() : null;
    }
    if (v instanceof OptionalDouble) {
      OptionalDouble o = (OptionalDouble) v;
      return o.isPresent() ? (Object) o.getAsDouble() : null;
    }
    if (depth > MAX_DEPTH || inProgress.containsKey(v)) return safeToString(v);
    inProgress.put(v, Boolean.TRUE);
    try {
      return container(v, depth);
    } finally {
      inProgress.remove(v);
    }
  }

  private Object container(Object v, int depth) {
    Class<?> c = v.getClass();
    if (c.isArray()) {
      int n = Array.getLength(v);
      List<Object> out = new ArrayList<Object>(n);
      for (int i = 0; i < n; i++) out.add(convert(Array.get(v, i), depth + 1));
      return out;
    }
    if (v instanceof Map) {
      Map<String, Object> out = new LinkedHashMap<String, Object>();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        out.put(String.valueOf(e.getKey()), convert(e.getValue(), depth + 1));
      }
      return out;
    }
    if (v instanceof Collection || v instanceof Iterable && !isJdk(c)) {
      List<Object> out = new ArrayList<Object>();
      for (Object o : (Iterable<?>) v) out.add(convert(o, depth + 1));
      return out;
    }
    if (v instanceof Iterable) { // a JDK Iterable but no Collection (a Path): its text is what people expect
      return safeToString(v);
    }
    Object scala = scala(v, depth);
    if (scala != NOT_SCALA) return scala;
    Map<String, Object> record = record(v, depth);
    if (record != null) return record;
    if (!isJdk(c)) {
      Map<String, Object> bean = bean(v, depth);
      if (bean != null) return bean;
    }
    return safeToString(v);
  }

  // ---------------------------------------------------------------- records (Java 16+)

  private Map<String, Object> record(Object v, int depth) {
    Class<?> c = v.getClass();
    try {
      Method isRecord = Class.class.getMethod("isRecord");
      if (!(Boolean) isRecord.invoke(c)) return null;
      Object[] components = (Object[]) Class.class.getMethod("getRecordComponents").invoke(c);
      Map<String, Object> out = new LinkedHashMap<String, Object>();
      for (Object rc : components) {
        String name = (String) rc.getClass().getMethod("getName").invoke(rc);
        Method accessor = (Method) rc.getClass().getMethod("getAccessor").invoke(rc);
        out.put(name, convert(invoke(accessor, v), depth + 1));
      }
      return out;
    } catch (NoSuchMethodException java8) {
      return null;
    } catch (Exception e) {
      return null;
    }
  }

  // ---------------------------------------------------------------- JavaBeans

  private static final Comparator<Method> BY_NAME = new Comparator<Method>() {
    @Override
    public int compare(Method a, Method b) {
      return a.getName().compareTo(b.getName());
    }
  };

  /** Public no-argument getX()/isX() methods as properties; null if there are none. */
  private Map<String, Object> bean(Object v, int depth) {
    Method[] methods = v.getClass().getMethods();
    Arrays.sort(methods, BY_NAME);
    Map<String, Object> out = new LinkedHashMap<String, Object>();
    for (Method m : methods) {
      if (Modifier.isStatic(m.getModifiers()) || m.getParameterTypes().length != 0) continue;
      if (m.getDeclaringClass() == Object.class || m.getReturnType() == void.class) continue;
      String name = m.getName();
      String property;
      if (name.startsWith("get") && name.length() > 3) property = name.substring(3);
      else if (name.startsWith("is") && name.length() > 2 && isBoolean(m.getReturnType())) property = name.substring(2);
      else continue;
      Object value;
      try {
        value = invoke(m, v);
      } catch (Exception e) {
        continue; // a getter that throws is not a property we can report
      }
      out.put(decapitalize(property), convert(value, depth + 1));
    }
    return out.isEmpty() ? null : out;
  }

  private static boolean isBoolean(Class<?> c) {
    return c == boolean.class || c == Boolean.class;
  }

  // java.beans.Introspector's rule: "URL" stays "URL", "Name" becomes "name"
  private static String decapitalize(String s) {
    if (s.length() > 1 && Character.isUpperCase(s.charAt(1)) && Character.isUpperCase(s.charAt(0))) return s;
    return Character.toLowerCase(s.charAt(0)) + s.substring(1);
  }

  // ---------------------------------------------------------------- Scala, by name only

  private static final Object NOT_SCALA = new Object();

  /**
   * Scala maps, iterables, options and tuples, without linking to Scala: its iterators have
   * hasNext()/next() and tuples _1()/_2() in 2.11 to 3.x alike.
   */
  private Object scala(Object v, int depth) {
    Class<?> c = v.getClass();
    if (!c.getName().startsWith("scala.") && !implementsScala(c)) return NOT_SCALA;
    try {
      if (isA(c, "scala.Option")) {
        boolean defined = (Boolean) c.getMethod("isDefined").invoke(v);
        return defined ? convert(c.getMethod("get").invoke(v), depth + 1) : null;
      }
      if (isA(c, "scala.collection.Map")) {
        Map<String, Object> out = new LinkedHashMap<String, Object>();
        for (Object pair : scalaElements(v)) {
          Object key = pair.getClass().getMethod("_1").invoke(pair);
          Object value = pair.getClass().getMethod("_2").invoke(pair);
          out.put(String.valueOf(key), convert(value, depth + 1));
        }
        return out;
      }
      if (isA(c, "scala.collection.Iterable") || isA(c, "scala.collection.Iterator")
          || isA(c, "scala.collection.TraversableOnce")) {
        List<Object> out = new ArrayList<Object>();
        for (Object o : scalaElements(v)) out.add(convert(o, depth + 1));
        return out;
      }
      if (c.getName().startsWith("scala.Tuple") && isA(c, "scala.Product")) {
        List<Object> out = new ArrayList<Object>();
        Object it = c.getMethod("productIterator").invoke(v);
        for (Object o : drain(it)) out.add(convert(o, depth + 1));
        return out;
      }
    } catch (Exception e) {
      return NOT_SCALA;
    }
    return NOT_SCALA;
  }

  private static boolean implementsScala(Class<?> c) {
    for (Class<?> k = c; k != null; k = k.getSuperclass()) {
      for (Class<?> i : k.getInterfaces()) {
        if (i.getName().startsWith("scala.")) return true;
      }
    }
    return false;
  }

  private static boolean isA(Class<?> c, String name) {
    try {
      return Class.forName(name, false, c.getClassLoader()).isAssignableFrom(c);
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  private static List<Object> scalaElements(Object v) throws Exception {
    Object it = isA(v.getClass(), "scala.collection.Iterator") ? v : v.getClass().getMethod("iterator").invoke(v);
    return drain(it);
  }

  private static List<Object> drain(Object scalaIterator) throws Exception {
    Method hasNext = scalaIterator.getClass().getMethod("hasNext");
    Method next = scalaIterator.getClass().getMethod("next");
    hasNext.setAccessible(true);
    next.setAccessible(true);
    List<Object> out = new ArrayList<Object>();
    while ((Boolean) hasNext.invoke(scalaIterator)) out.add(next.invoke(scalaIterator));
    return out;
  }

  // ---------------------------------------------------------------- helpers

  private static boolean isJdk(Class<?> c) {
    String n = c.getName();
    return n.startsWith("java.") || n.startsWith("javax.") || n.startsWith("jdk.") || n.startsWith("sun.")
        || n.startsWith("com.sun.");
  }

  // Public methods of a non-public class (a private nested record, a lambda's class) need
  // setAccessible; that is allowed for classes in the unnamed module, which jobs are.
  private static Object invoke(Method m, Object target) throws Exception {
    try {
      return m.invoke(target);
    } catch (IllegalAccessException e) {
      m.setAccessible(true);
      return m.invoke(target);
    }
  }

  private static String safeToString(Object v) {
    try {
      return String.valueOf(v);
    } catch (RuntimeException e) {
      return v.getClass().getName() + "@" + Integer.toHexString(System.identityHashCode(v));
    }
  }
}
