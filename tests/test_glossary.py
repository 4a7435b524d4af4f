"""Query expansion for non-English questions."""

from bot.glossary import expand


def test_expands_key_health_terms_in_four_languages():
    assert "liver" in expand("¿El kratom puede dañar el hígado?")
    assert "side effects" in expand("Quais são os efeitos colaterais do kratom?")
    assert "pregnancy" in expand("Le kratom pendant la grossesse ?")
    assert "Germany" in expand("Ist Kratom in Deutschland legal?") and "legal" in expand("Ist Kratom in Deutschland legal?")


def test_nothing_to_add_for_unknown_words():
    assert expand("zzz qqq") == ""
