package sjs.runner;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import sjs.api.NamedObjects;

/**
 * The context's named objects: one instance per runner process, shared by all its jobs.
 *
 * <p>getOrCreate runs the creator on the first caller's thread, outside the lock, so a slow
 * creator of one name never blocks other names; later callers of the same name wait on its
 * FutureTask.
 */
final class ContextObjects implements NamedObjects {
  private final Object lock = new Object();
  private final Map<String, Object> values = new HashMap<String, Object>();
  private final Map<String, FutureTask<Object>> creating = new HashMap<String, FutureTask<Object>>();

  @Override
  @SuppressWarnings("unchecked")
  public <T> T get(String name) {
    synchronized (lock) {
      return (T) values.get(name);
    }
  }

  @Override
  public void put(String name, Object value) {
    if (name == null) throw new IllegalArgumentException("named object name is null");
    synchronized (lock) {
      if (value == null) values.remove(name);
      else values.put(name, value);
    }
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> T getOrCreate(String name, Callable<T> creator, long timeoutMillis) throws Exception {
    if (name == null) throw new IllegalArgumentException("named object name is null");
    FutureTask<Object> task;
    boolean mine = false;
    synchronized (lock) {
      Object existing = values.get(name);
      if (existing != null) return (T) existing;
      task = creating.get(name);
      if (task == null) {
        task = new FutureTask<Object>((Callable<Object>) creator);
        creating.put(name, task);
        mine = true;
      }
    }
    if (mine) {
      try {
        task.run();
      } finally {
        synchronized (lock) {
          creating.remove(name);
          Object created = valueOrNull(task);
          if (created != null) values.put(name, created);
        }
      }
      return (T) unwrap(name, task, 0, false);
    }
    return (T) unwrap(name, task, timeoutMillis, true);
  }

  @Override
  public boolean forget(String name) {
    synchronized (lock) {
      return values.remove(name) != null;
    }
  }

  @Override
  public Set<String> names() {
    synchronized (lock) {
      return new TreeSet<String>(values.keySet());
    }
  }

  private static Object valueOrNull(FutureTask<Object> done) {
    try {
      return done.get();
    } catch (Exception e) {
      return null;
    }
  }

  // Waiters see the creator's own exception, not an ExecutionException wrapper.
  private static Object unwrap(String name, FutureTask<Object> task, long timeoutMillis, boolean timed)
      throws Exception {
    try {
      return timed ? task.get(Math.max(0, timeoutMillis), TimeUnit.MILLISECONDS) : task.get();
    } catch (TimeoutException e) {
      throw new TimeoutException(
          "timed out after " + timeoutMillis + " ms waiting for another job to create the named object " + name);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof Exception) throw (Exception) cause;
      if (cause instanceof Error) throw (Error) cause;
      throw e;
    }
  }
}
