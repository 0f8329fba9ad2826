from textkit import top_words, word_count


def test_word_count_counts_words():
    assert word_count("the quick brown fox") == 4


def test_word_count_strips_punctuation():
    assert word_count("Hello, world!") == 2


def test_top_words_orders_by_frequency():
    assert top_words("b a b c b a", n=2) == [("b", 3), ("a", 2)]
