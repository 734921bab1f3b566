package ai.cory.worker.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.cory.common.task.TaskPrompt;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Batches cut into equal contiguous shards that travel to executors intact. */
final class QueryShardTest {
  private static List<TaskPrompt> batch(int n) {
    List<TaskPrompt> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new TaskPrompt(100 + i, "q" + i, "p" + i, new int[] {i, i + 1}, i % 2 == 0 ? null : "g" + i));
    }
    return out;
  }

  @Test
  void shardsAreContiguousAndKnowTheirFirstGlobalRow() throws Exception {
    List<QueryShard> shards = QueryShard.split(batch(8), 4);
    assertEquals(4, shards.size());
    for (int r = 0; r < 4; r++) {
      QueryShard s = shards.get(r);
      assertEquals(r, s.rank());
      assertEquals(2L * r, s.firstGlobalRow());
      List<TaskPrompt> rows = s.taskPrompts();
      assertEquals(100 + 2 * r, rows.get(0).index());
      assertEquals(101 + 2 * r, rows.get(1).index());
    }
    assertThrows(IllegalArgumentException.class, () -> QueryShard.split(batch(6), 4));
  }

  @Test
  void aShardSurvivesJavaSerialization() throws Exception {
    QueryShard shard = QueryShard.split(batch(4), 2).get(1);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(shard);
    }
    QueryShard back;
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      back = (QueryShard) in.readObject();
    }
    List<TaskPrompt> expected = shard.taskPrompts();
    List<TaskPrompt> actual = back.taskPrompts();
    for (int i = 0; i < expected.size(); i++) {
      assertEquals(expected.get(i).index(), actual.get(i).index());
      assertEquals(expected.get(i).query(), actual.get(i).query());
      assertEquals(expected.get(i).groundTruth(), actual.get(i).groundTruth());
      assertArrayEquals(expected.get(i).promptTokens(), actual.get(i).promptTokens());
    }
    assertEquals(2, back.firstGlobalRow());
  }
}
