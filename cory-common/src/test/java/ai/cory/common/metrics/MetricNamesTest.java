package ai.cory.common.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The metric-name table and the user documentation name the same metrics, each once in the table. */
final class MetricNamesTest {

  @Test
  void everyNameIsDocumentedInTrainingMd() throws IOException {
    Path doc = Path.of("..", "docs", "training.md");
    assumeTrue(Files.isRegularFile(doc), "run from a module of the repository");
    String text = Files.readString(doc);
    List<String> missing = new ArrayList<>();
    for (String name : MetricNames.ALL) {
      if (!text.contains("`" + name + "`") && !text.contains("/" + name + "`")) {
        missing.add(name);
      }
    }
    assertEquals(List.of(), missing, "metric names missing from docs/training.md");
  }

  @Test
  void namesAreDistinctAndUseTrlsSpelling() {
    assertEquals(MetricNames.ALL.size(), new HashSet<>(MetricNames.ALL).size());
    assertEquals("tokens/responses_len_mean", MetricNames.RESPONSES_LEN_MEAN);
    assertEquals("A/pioneer/objective/kl", MetricNames.ofAgent("A", "pioneer", MetricNames.KL));
  }
}
