package sjs.api;

import java.util.Set;
import java.util.concurrent.Callable;

/**
 * Objects that outlive a job: shared by every job of the context until the context stops or
 * the object is forgotten. Typical use: a cached data set, a connection pool, a model.
 *
 * <p>Values are shared as they are, not copied. Objects made from classes of one binary
 * version are only usable by jobs of the same version (a re-upload gets a new class loader).
 */
public interface NamedObjects {
  /** The object stored under {@code name}, or null. */
  <T> T get(String name);

  /** Stores {@code value} under {@code name}, replacing any previous one; null forgets it. */
  void put(String name, Object value);

  /**
   * The object stored under {@code name}, creating it if absent. For a given name exactly one
   * creator runs at a time; concurrent callers wait up to {@code timeoutMillis} for its value,
   * then get a {@link java.util.concurrent.TimeoutException}. If the creator throws, it and
   * every waiter get that exception and the name stays absent. A null value is returned but
   * not stored.
   */
  <T> T getOrCreate(String name, Callable<T> creator, long timeoutMillis) throws Exception;

  /** Removes the object; true if there was one. */
  boolean forget(String name);

  /** The names stored now, sorted. */
  Set<String> names();
}
