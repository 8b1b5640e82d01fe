package dev.shakenet.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.EnumFeature;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Reads a run config: the JSON file over {@link RunConfig#DEFAULTS}, then {@code --set key.path=value}
 * overrides. Unknown keys, wrong types and invalid values fail here, before any work starts,
 * naming the key and what it accepts.
 */
public final class ConfigLoader {
    public static final ObjectMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
            .configure(EnumFeature.WRITE_ENUMS_TO_LOWERCASE, true)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private ConfigLoader() {}

    /** The config in {@code file} with {@code overrides} ("key.path=value") applied. */
    public static RunConfig load(Path file, List<String> overrides) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException("config file " + file + " does not exist");
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
        }
        JsonNode tree;
        try {
            tree = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ConfigException(file + " is not valid JSON: " + e.getOriginalMessage() + " (line "
                    + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")");
        }
        if (tree == null || !tree.isObject()) throw new ConfigException(file + " must hold one JSON object, like {\"epochs\": 10}");
        return resolve((ObjectNode) tree, overrides);
    }

    /**
     * Defaults, then {@code user}, then {@code overrides}, checked and bound. Every problem is
     * collected before the command fails: unknown keys, bad {@code --set}s, wrong types (the key
     * left at its default so the value rules can still be checked) and broken value rules.
     */
    public static RunConfig resolve(ObjectNode user, List<String> overrides) {
        ObjectNode defaults = JSON.valueToTree(RunConfig.DEFAULTS);
        List<ConfigProblem> problems = new ArrayList<>();
        checkKnownKeys(user, defaults, "", problems);
        for (String override : overrides) applyOverride(user, defaults, override, problems);
        ObjectNode merged = defaults.deepCopy();
        merge(merged, user);
        List<ConfigProblem> mistyped = ConfigTypes.check(merged, RunConfig.DEFAULTS);
        for (ConfigProblem problem : mistyped) restoreDefault(merged, defaults, problem.key());
        problems.addAll(mistyped);
        RunConfig config = null;
        try {
            config = JSON.treeToValue(merged, RunConfig.class);
        } catch (JsonMappingException e) {
            problems.add(new ConfigProblem(null, describe(e)));
        } catch (JsonProcessingException e) {
            problems.add(new ConfigProblem(null, e.getOriginalMessage()));
        }
        if (config != null) {
            for (ConfigProblem problem : ConfigValidator.problems(config)) {
                if (mistyped.stream().noneMatch(m -> problem.key().equals(m.key()))) problems.add(problem);
            }
        }
        if (!problems.isEmpty()) throw new ConfigException(ConfigProblem.inKeyOrder(problems, user, defaults));
        return config;
    }

    /**
     * A config as a checkpoint saved it, read under today's keys: the defaults of keys added since
     * it was written, keys since removed left out; not validated again (it ran as it was).
     */
    public static RunConfig ofSaved(JsonNode saved) throws JsonProcessingException {
        ObjectNode merged = JSON.valueToTree(RunConfig.DEFAULTS);
        merge(merged, saved);
        return JSON.treeToValue(merged, RunConfig.class);
    }

    /** The config as JSON, every key present (what a run folder records). */
    public static String toJson(RunConfig config) {
        try {
            return JSON.writeValueAsString(config) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** "key.path -> value" for every leaf of the config, in key order. */
    public static java.util.Map<String, String> flatten(RunConfig config) {
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        flatten("", JSON.valueToTree(config), out);
        return out;
    }

    private static void flatten(String prefix, JsonNode node, java.util.Map<String, String> out) {
        if (node.isObject()) {
            node.properties().forEach(e -> flatten(prefix + e.getKey() + ".", e.getValue(), out));
        } else {
            out.put(prefix.substring(0, prefix.length() - 1), node.isTextual() ? node.asText() : node.toString());
        }
    }

    /** "key: old -> new" for every key whose value differs between two configs. */
    public static List<String> differences(RunConfig before, RunConfig after) {
        java.util.Map<String, String> a = flatten(before), b = flatten(after);
        List<String> out = new ArrayList<>();
        a.forEach((key, value) -> {
            if (!value.equals(b.get(key))) out.add(key + ": " + value + " -> " + b.get(key));
        });
        return out;
    }

    private static void checkKnownKeys(JsonNode user, JsonNode defaults, String prefix, List<ConfigProblem> problems) {
        user.properties().forEach(field -> {
            String key = prefix + field.getKey();
            JsonNode known = defaults.get(field.getKey());
            if (known == null && key.equals("cpu_conv_algorithm")) {
                problems.add(new ConfigProblem(key, "cpu_conv_algorithm: replaced by engine (auto, reference or cpu_kernels; winograd is part of cpu_kernels, "
                        + "direct is reference); remove the key"));
            } else if (known == null) {
                problems.add(new ConfigProblem(key, "unknown key '" + key + "'" + knownKeys(defaults, prefix)));
            } else if (known.isObject()) {
                if (!field.getValue().isObject()) {
                    problems.add(new ConfigProblem(key, key + ": expected an object with keys " + String.join(", ", fieldNames(known)) + ", got " + field.getValue()));
                } else {
                    checkKnownKeys(field.getValue(), known, key + ".", problems);
                }
            }
        });
    }

    private static void applyOverride(ObjectNode user, ObjectNode defaults, String override, List<ConfigProblem> problems) {
        int eq = override.indexOf('=');
        if (eq <= 0) {
            problems.add(new ConfigProblem(null, "--set " + override + ": write it as key.path=value, e.g. --set optimizer.lr=0.05"));
            return;
        }
        String key = override.substring(0, eq).trim();
        String[] path = key.split("\\.");
        JsonNode known = defaults;
        ObjectNode target = user;
        for (int i = 0; i < path.length; i++) {
            JsonNode next = known.get(path[i]);
            String prefix = String.join(".", Arrays.copyOf(path, i));
            if (next == null) {
                problems.add(new ConfigProblem(key, "--set " + key + ": unknown key '" + key + "'" + knownKeys(known, prefix.isEmpty() ? "" : prefix + ".")));
                return;
            }
            if (i == path.length - 1) {
                if (next.isObject()) {
                    problems.add(new ConfigProblem(key, "--set " + key + ": '" + key + "' is a group; set one of its keys: " + String.join(", ", fieldNames(next))));
                    return;
                }
                target.set(path[i], parseValue(override.substring(eq + 1)));
                return;
            }
            if (!next.isObject()) {
                problems.add(new ConfigProblem(key, "--set " + key + ": '" + String.join(".", Arrays.copyOf(path, i + 1)) + "' has no keys below it"));
                return;
            }
            JsonNode child = target.get(path[i]);
            if (!(child instanceof ObjectNode)) {
                child = JSON.createObjectNode();
                target.set(path[i], child);
            }
            target = (ObjectNode) child;
            known = next;
        }
    }

    /** A JSON value when the text is one (number, true, null, [..], "..."), else the text itself. */
    private static JsonNode parseValue(String text) {
        try {
            JsonNode node = JSON.readTree(text);
            if (node != null && !node.isMissingNode()) return node;
        } catch (JsonProcessingException e) {
            // not JSON: a plain string such as cpu or config/out
        }
        return JSON.getNodeFactory().textNode(text);
    }

    /** {@code from}'s known keys over {@code into}; unknown keys and groups given as non-objects (reported already) are left out. */
    private static void merge(ObjectNode into, JsonNode from) {
        from.properties().forEach(field -> {
            JsonNode existing = into.get(field.getKey());
            if (existing == null) return;
            if (existing instanceof ObjectNode group) {
                if (field.getValue().isObject()) merge(group, field.getValue());
            } else {
                into.set(field.getKey(), field.getValue());
            }
        });
    }

    /** Puts the default back at {@code key} ("group.key"), where the given value has the wrong type. */
    private static void restoreDefault(ObjectNode merged, JsonNode defaults, String key) {
        String[] path = key.split("\\.");
        for (int i = 0; i < path.length - 1; i++) {
            merged = (ObjectNode) merged.get(path[i]);
            defaults = defaults.get(path[i]);
        }
        merged.set(path[path.length - 1], defaults.get(path[path.length - 1]).deepCopy());
    }

    private static String knownKeys(JsonNode group, String prefix) {
        return "; known keys" + (prefix.isEmpty() ? "" : " under " + prefix.substring(0, prefix.length() - 1)) + ": "
                + String.join(", ", fieldNames(group));
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** "key.path: what is wrong" from Jackson's binding error. */
    static String describe(JsonMappingException e) {
        String key = e.getPath().stream()
                .map(ref -> ref.getFieldName() != null ? ref.getFieldName() : "[" + ref.getIndex() + "]")
                .collect(Collectors.joining(".")).replace(".[", "[");
        if (e instanceof InvalidFormatException invalid && invalid.getTargetType() != null && invalid.getTargetType().isEnum()) {
            String allowed = Arrays.stream(invalid.getTargetType().getEnumConstants())
                    .map(c -> c.toString().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", "));
            return key + ": '" + invalid.getValue() + "' is not one of " + allowed;
        }
        String message = e.getOriginalMessage();
        int cut = message.indexOf('\n');
        if (cut > 0) message = message.substring(0, cut);
        return key + ": " + message.replaceAll(" \\(for .*", "");
    }
}
