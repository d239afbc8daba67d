package sjs.runner;

import java.lang.reflect.InvocationTargetException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The context's Spark, reached only by reflection so the runner builds and runs without Spark
 * on the class path. Absent unless the daemon started us with SJS_SPARK=1 (through
 * spark-submit, which puts Spark on the class path and spark.* settings in system properties).
 */
final class Spark {
  static final String SPARK_CONTEXT = "org.apache.spark.SparkContext";
  static final String SPARK_SESSION = "org.apache.spark.sql.SparkSession";
  static final String JAVA_SPARK_CONTEXT = "org.apache.spark.api.java.JavaSparkContext";
  static final String NO_SPARK = "this context has no Spark: create it with --runtime spark";

  private static final Class<?>[] STRING_STRING = {String.class, String.class};

  private final Object session; // null when spark-sql is not on the class path
  private final Object sc;
  private Object javaSparkContext; // made on first request

  private Spark(Object session, Object sc) {
    this.session = session;
    this.sc = sc;
  }

  static Spark none() {
    return new Spark(null, null);
  }

  /** Creates the SparkSession (or, without spark-sql, a bare SparkContext). */
  static Spark start(String appName) throws Exception {
    Properties props = System.getProperties();
    ClassLoader cl = Thread.currentThread().getContextClassLoader();
    if (cl == null) cl = Spark.class.getClassLoader();
    Class<?> sessionClass;
    try {
      sessionClass = Class.forName(SPARK_SESSION, true, cl);
    } catch (ClassNotFoundException noSql) {
      sessionClass = null;
    }
    if (sessionClass != null) {
      Object builder = sessionClass.getMethod("builder").invoke(null);
      for (String k : props.stringPropertyNames()) {
        if (k.startsWith("spark.")) call(builder, "config", STRING_STRING, k, props.getProperty(k));
      }
      // spark-submit always sets these; a hand-started runner gets spark-submit's defaults
      if (props.getProperty("spark.master") == null) call(builder, "master", new Class<?>[] {String.class}, "local[*]");
      if (props.getProperty("spark.app.name") == null) call(builder, "appName", new Class<?>[] {String.class}, appName);
      Object session = call(builder, "getOrCreate", new Class<?>[0]);
      return new Spark(session, call(session, "sparkContext", new Class<?>[0]));
    }
    Class<?> confClass = Class.forName("org.apache.spark.SparkConf", true, cl);
    Object conf = confClass.getConstructor().newInstance(); // reads spark.* system properties itself
    if (props.getProperty("spark.master") == null) call(conf, "setMaster", new Class<?>[] {String.class}, "local[*]");
    if (props.getProperty("spark.app.name") == null) call(conf, "setAppName", new Class<?>[] {String.class}, appName);
    Object sc = Class.forName(SPARK_CONTEXT, true, cl).getConstructor(confClass).newInstance(conf);
    return new Spark(null, sc);
  }

  boolean present() {
    return sc != null;
  }

  /** For hello: {version, master, applicationId}. */
  Map<String, Object> describe() {
    Map<String, Object> m = new LinkedHashMap<String, Object>();
    m.put("version", String.valueOf(quietly("version")));
    m.put("master", String.valueOf(quietly("master")));
    m.put("applicationId", String.valueOf(quietly("applicationId")));
    return m;
  }

  /** The handle a job asked for, by class name. */
  synchronized Object handle(String className) {
    if (sc == null) throw new IllegalStateException(NO_SPARK);
    if (SPARK_CONTEXT.equals(className)) return sc;
    if (SPARK_SESSION.equals(className)) {
      if (session == null) {
        throw new IllegalStateException("this context has no SparkSession: spark-sql is not on its class path");
      }
      return session;
    }
    if (JAVA_SPARK_CONTEXT.equals(className)) {
      if (javaSparkContext == null) {
        try {
          ClassLoader cl = sc.getClass().getClassLoader();
          Class<?> jsc = Class.forName(JAVA_SPARK_CONTEXT, true, cl);
          javaSparkContext = jsc.getConstructor(Class.forName(SPARK_CONTEXT, false, cl)).newInstance(sc);
        } catch (Exception e) {
          throw new IllegalStateException("cannot create a JavaSparkContext: " + e, e);
        }
      }
      return javaSparkContext;
    }
    throw new IllegalArgumentException("no Spark handle of type " + className + ": ask for " + SPARK_CONTEXT + ", "
        + SPARK_SESSION + " or " + JAVA_SPARK_CONTEXT);
  }

  /** Called on the job's thread: Spark job groups are thread-local properties. */
  void setJobGroup(String jobId) {
    if (sc == null) return;
    try {
      Class<?>[] types = {String.class, String.class, boolean.class};
      call(sc, "setJobGroup", types, jobId, "sjs job " + jobId, true);
    } catch (Exception e) {
      Log.warn("setJobGroup(" + jobId + ") failed: " + e);
    }
  }

  void clearJobGroup() {
    if (sc == null) return;
    try {
      call(sc, "clearJobGroup", new Class<?>[0]);
    } catch (Exception e) {
      Log.warn("clearJobGroup failed: " + e);
    }
  }

  void cancelJobGroup(String jobId) {
    if (sc == null) return;
    try {
      call(sc, "cancelJobGroup", new Class<?>[] {String.class}, jobId);
    } catch (Exception e) {
      Log.warn("cancelJobGroup(" + jobId + ") failed: " + e);
    }
  }

  void addJar(String path) {
    if (sc == null) return;
    try {
      call(sc, "addJar", new Class<?>[] {String.class}, path);
    } catch (Exception e) {
      Log.warn("addJar(" + path + ") failed: " + e);
    }
  }

  void stop() {
    if (sc == null) return;
    try {
      call(sc, "stop", new Class<?>[0]);
    } catch (Exception e) {
      Log.warn("stopping Spark failed: " + e);
    }
  }

  private Object quietly(String method) {
    try {
      return call(sc, method, new Class<?>[0]);
    } catch (Exception e) {
      return null;
    }
  }

  private static Object call(Object target, String method, Class<?>[] types, Object... args) throws Exception {
    try {
      return target.getClass().getMethod(method, types).invoke(target, args);
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      if (cause instanceof Exception) throw (Exception) cause;
      if (cause instanceof Error) throw (Error) cause;
      throw e;
    }
  }
}
