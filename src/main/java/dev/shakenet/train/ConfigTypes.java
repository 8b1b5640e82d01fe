package dev.shakenet.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The JSON type of every key of a config, checked against the Java type of its {@link RunConfig}
 * component before binding. Jackson's binding stops at the first wrong type; this check names
 * them all, so a config's type errors are reported together with its other problems. The keys
 * and their types come from the record components (snake_case, nested records as groups); null
 * is accepted where the component is not primitive and its default is null.
 */
final class ConfigTypes {
    private static final PropertyNamingStrategies.NamingBase NAMES = (PropertyNamingStrategies.NamingBase) PropertyNamingStrategies.SNAKE_CASE;

    private ConfigTypes() {}

    /** A problem for each key of {@code config} whose value does not fit the type of its component in {@code defaults}, in record order. */
    static List<ConfigProblem> check(JsonNode config, Record defaults) {
        List<ConfigProblem> problems = new ArrayList<>();
        check(config, defaults, "", problems);
        return problems;
    }

    private static void check(JsonNode group, Record defaults, String prefix, List<ConfigProblem> problems) {
        for (RecordComponent component : defaults.getClass().getRecordComponents()) {
            String name = NAMES.translate(component.getName());
            JsonNode value = group.get(name);
            if (value == null) continue;
            String key = prefix + name;
            Class<?> type = component.getType();
            Object fallback = valueOf(component, defaults);
            if (type.isRecord() && value.isObject()) {
                check(value, (Record) fallback, key + ".", problems);
            } else if (type.isRecord()) {
                problems.add(new ConfigProblem(key, key + ": " + value + " is not an object; expected an object with keys "
                        + Arrays.stream(type.getRecordComponents()).map(c -> NAMES.translate(c.getName())).collect(Collectors.joining(", "))));
            } else {
                String problem = problem(value, type, fallback == null);
                if (problem != null) problems.add(new ConfigProblem(key, key + ": " + problem));
            }
        }
    }

    private static Object valueOf(RecordComponent component, Record record) {
        try {
            return component.getAccessor().invoke(record);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What is wrong with {@code value} for a field of {@code type} (that may be null if {@code nullable}), or null when it fits. */
    private static String problem(JsonNode value, Class<?> type, boolean nullable) {
        if (type.isEnum()) {
            String allowed = Arrays.stream(type.getEnumConstants()).map(c -> ((Enum<?>) c).name().toLowerCase(Locale.ROOT))
                    .collect(Collectors.joining(", "));
            boolean known = value.isTextual() && Arrays.stream(type.getEnumConstants()).anyMatch(c -> ((Enum<?>) c).name().equalsIgnoreCase(value.asText()));
            return known ? null : (value.isTextual() ? "'" + value.asText() + "'" : value.toString()) + " is not one of " + allowed;
        }
        nullable &= !type.isPrimitive();
        String orNull = nullable ? ", or null" : "";
        if (value.isNull()) return nullable ? null : "null is not accepted; expected " + accepted(type);
        if (type == int.class || type == Integer.class) return whole(value, value.canConvertToInt(), type, Integer.MIN_VALUE, Integer.MAX_VALUE, orNull);
        if (type == long.class || type == Long.class) return whole(value, value.canConvertToLong(), type, Long.MIN_VALUE, Long.MAX_VALUE, orNull);
        if (type == double.class || type == Double.class) return value.isNumber() ? null : value + " is not a number; expected " + accepted(type) + orNull;
        if (type == boolean.class || type == Boolean.class) return value.isBoolean() ? null : value + " is not a boolean; expected " + accepted(type) + orNull;
        if (type == String.class) return value.isTextual() ? null : value + " is not a string; expected " + accepted(type) + orNull;
        if (List.class.isAssignableFrom(type)) { // the config's lists hold whole numbers (schedule.milestones)
            boolean whole = value.isArray();
            for (JsonNode item : value) whole &= item.isIntegralNumber() && item.canConvertToInt();
            return whole ? null : value + " is not a list of whole numbers; expected " + accepted(type) + orNull;
        }
        throw new IllegalArgumentException("no JSON type check for " + type);
    }

    private static String whole(JsonNode value, boolean inRange, Class<?> type, long min, long max, String orNull) {
        if (!value.isIntegralNumber()) return value + " is not a whole number; expected " + accepted(type) + orNull;
        return inRange ? null : value + " is out of range; expected an integer from " + min + " to " + max + orNull;
    }

    private static String accepted(Class<?> type) {
        if (type == double.class || type == Double.class) return "a number such as 0.5";
        if (type == boolean.class || type == Boolean.class) return "true or false";
        if (type == String.class) return "a string in double quotes, such as \"text\"";
        if (List.class.isAssignableFrom(type)) return "a list of whole numbers such as [150, 225]";
        return "an integer such as 10";
    }
}
