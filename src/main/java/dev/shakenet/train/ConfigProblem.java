package dev.shakenet.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One problem with a run config and the key it names. A config's problems are listed in the
 * order of their keys in the file (after {@code --set}), then in the order of {@link RunConfig}
 * for keys the file leaves at their defaults, so the same mistakes always read the same way.
 */
record ConfigProblem(String key, String message) {

    /** The messages of {@code problems} in key order; problems naming no known key come last, as given. */
    static List<String> inKeyOrder(List<ConfigProblem> problems, JsonNode user, JsonNode defaults) {
        Map<String, Integer> rank = new HashMap<>();
        rankKeys(user, "", rank);
        rankKeys(defaults, "", rank);
        return problems.stream()
                .sorted(Comparator.comparingInt(p -> rank.getOrDefault(p.key(), Integer.MAX_VALUE)))
                .map(ConfigProblem::message)
                .toList();
    }

    /** Every key path of {@code node} (groups before their keys) after those already ranked. */
    private static void rankKeys(JsonNode node, String prefix, Map<String, Integer> rank) {
        node.properties().forEach(field -> {
            String key = prefix + field.getKey();
            rank.putIfAbsent(key, rank.size());
            if (field.getValue().isObject()) rankKeys(field.getValue(), key + ".", rank);
        });
    }
}
