package ai.cory.common.cory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ObserverTemplateTest {

  @Test
  void imdbTemplate() {
    assertEquals("I can make this sentence \"This film was a bit boring\" more positive: This film",
        ObserverTemplate.IMDB.render("This film", " was a bit boring"));
    assertTrue(ObserverTemplate.IMDB.transfersKnowledge());
  }

  @Test
  void gsm8kTemplateInsertsTheReferenceBeforeTheFinalAnswer() {
    String expected = "Question: Shawn has five toys. For Christmas, he got two toys each from his mom "
        + "and dad. How many toys does he have now?\nAnswer: Shawn started with 5 toys. If he got 2 "
        + "toys each from his mom and dad, then that is 4 more toys. 5 + 4 = 9.\n"
        + "Question: What is 2 + 3?\nReference: 2 + 3 = 5.\nAnswer:";
    assertEquals(expected, ObserverTemplate.GSM8K.render("What is 2 + 3?", "2 + 3 = 5."));
  }

  @Test
  void substitutionIsOnePassAndOtherBracesAreLiteral() {
    ObserverTemplate t = new ObserverTemplate("{a} [{query}] <{response}> {query}");
    assertEquals("{a} [x{response}] <{query}y> x{response}", t.render("x{response}", "{query}y"));
  }

  @Test
  void queryOnlyIsTheNoKnowledgeTransferAblation() {
    assertFalse(ObserverTemplate.QUERY_ONLY.transfersKnowledge());
    assertEquals("q", ObserverTemplate.QUERY_ONLY.render("q", "ignored"));
  }

  @Test
  void invalidTemplates() {
    assertThrows(IllegalArgumentException.class, () -> new ObserverTemplate("no placeholders"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ObserverTemplate.withReference("Question: {query}\nA:"));
    assertTrue(e.getMessage().contains("\\nAnswer:"), e.getMessage());
  }
}
