package sjs.api;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Registers a method as a named step of a step library, for pipelines
 * ({@code sjs job submit LIB --steps '[["load"], ["words"], ["top", 5]]'}).
 *
 * <p>A step is a {@code public static} method whose first two parameters are
 * {@code (JobContext ctx, Object data)}: the job's context ({@code ctx.config()} is the job's
 * config in every step) and the previous step's output ({@code null} for the first step; the
 * Java object itself, not JSON). Its other parameters are the step's arguments, given in the
 * pipeline as JSON and converted to the parameter's type: {@code String}, {@code int}/{@code Integer},
 * {@code long}/{@code Long}, {@code double}/{@code Double}, {@code boolean}/{@code Boolean},
 * {@code java.util.List} (a JSON array), {@code java.util.Map} (a JSON object) or {@code Object}
 * (any JSON value: Map, List, String, Long, Double, Boolean or null). A number with a fraction
 * is not an int, a string is not a number: the runner checks every argument of the whole
 * pipeline before it runs any step, and reports every problem at once.
 *
 * <p>The step's return value is the next step's {@code data}; the last step's is the job's
 * result, converted to JSON like a {@link Job}'s.
 *
 * <pre>{@code
 * public final class TextSteps {
 *   @Step(doc = "Splits every line into words.")
 *   public static List<String> words(JobContext ctx, Object data) { ... }
 *
 *   @Step(value = "top", doc = "The n most frequent values.")
 *   public static List<Object> topN(JobContext ctx, Object data, int n) { ... }
 * }
 * }</pre>
 *
 * <p>The runner finds the steps of the job's first binary (the library; {@code --with} jars are
 * only on its class path) without running static initialisers while it looks. Step names must
 * be unique within a library. {@code sjs binary steps LIB} lists them with their parameters
 * (their names when the library was compiled with {@code javac -parameters}) and doc lines.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Step {
  /** The step's name in pipelines; the method's name when empty. */
  String value() default "";

  /** A one-line description, shown by {@code sjs binary steps}. */
  String doc() default "";
}
