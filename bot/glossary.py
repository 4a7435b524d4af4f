"""Query expansion for Spanish, Portuguese, French and German questions.

The corpus and the embedding model are English, so a question in another language is
searched with English key terms added. Keys are accent-folded lowercase word stems.
"""

from __future__ import annotations

import re

from .text import fold

# stem (matched at a word start) -> English terms added to the search
TERMS: dict[str, str] = {
    # body and health
    "higado": "liver", "figado": "liver", "foie": "liver", "leber": "liver",
    "efectos secundarios": "side effects", "efeitos colaterais": "side effects", "effets secondaires": "side effects",
    "effets indesirables": "side effects", "nebenwirkung": "side effects",
    "embaraz": "pregnancy pregnant", "gravid": "pregnancy pregnant", "grossesse": "pregnancy", "enceinte": "pregnant",
    "schwanger": "pregnancy pregnant", "lactancia": "breastfeeding", "amamenta": "breastfeeding", "allait": "breastfeeding",
    "stillen": "breastfeeding", "corazon": "heart", "coracao": "heart", "coeur": "heart", "herz": "heart",
    "convulsi": "seizures", "convulsa": "seizures", "krampf": "seizures", "epilep": "seizures epilepsy",
    "piel": "skin", "pele": "skin", "peau": "skin", "haut ": "skin", "manchas": "dark spots hyperpigmentation",
    "taches": "dark spots hyperpigmentation", "flecken": "dark spots hyperpigmentation",
    "orina": "urine", "urina": "urine", "urine": "urine", "urin": "urine", "sangre": "blood", "sangue": "blood",
    "sang ": "blood", "blut": "blood", "dolor": "pain", "dor ": "pain", "douleur": "pain", "schmerz": "pain",
    "ansiedad": "anxiety", "ansiedade": "anxiety", "anxiete": "anxiety", "angst": "anxiety",
    "depresi": "depression", "depressao": "depression", "depression": "depression", "dormir": "sleep", "sono": "sleep",
    "sommeil": "sleep", "schlaf": "sleep", "rinon": "kidney", "rim ": "kidney", "rein": "kidney", "niere": "kidney",
    # use, dependence, harm
    "adicci": "addiction", "adict": "addiction addictive", "dependencia": "dependence", "dependen": "dependence",
    "vicio": "addiction", "viciad": "addiction", "accro": "addiction", "abhangig": "dependence addiction",
    "sucht": "addiction", "abstinencia": "withdrawal", "sevrage": "withdrawal", "manque": "withdrawal", "entzug": "withdrawal",
    "dejar": "quit stop", "largar": "quit stop", "parar": "quit stop", "arreter": "quit stop", "aufhoren": "quit stop",
    "sobredosis": "overdose", "overdose": "overdose", "surdose": "overdose", "uberdosis": "overdose",
    "muert": "deaths died", "morte": "deaths died", "morreram": "deaths died", "mort": "deaths died",
    "tod": "deaths died", "gestorben": "deaths died", "peligro": "dangerous risks", "perigo": "dangerous risks",
    "dangereu": "dangerous risks", "gefahr": "dangerous risks", "riesgo": "risks", "risco": "risks", "risque": "risks",
    "risiko": "risks", "seguro": "safe safety", "segura": "safe safety", "sur ": "safe safety", "sicher": "safe safety",
    "tratamiento": "treatment", "tratamento": "treatment", "traitement": "treatment", "behandlung": "treatment",
    "ayuda": "help support", "ajuda": "help support", "aide": "help support", "hilfe": "help support",
    # medicines and substances
    "interacci": "interactions", "interac": "interactions", "wechselwirkung": "interactions",
    "medicament": "medicines", "remedio": "medicines", "medikament": "medicines",
    "pastillas para dormir": "sleeping pills sedatives", "remedio para dormir": "sleeping pills sedatives",
    "somnifere": "sleeping pills sedatives", "schlaftablette": "sleeping pills sedatives",
    "alcohol": "alcohol", "alcool": "alcohol", "alkohol": "alcohol", "opioid": "opioids", "opiace": "opioids",
    "prueba de drogas": "drug test", "exame toxicologico": "drug test", "antidoping": "drug test",
    "depistage": "drug test", "drogentest": "drug test", "examen de orina": "urine drug test",
    "contamina": "contamination", "verunreinig": "contamination", "metales pesados": "heavy metals",
    "metais pesados": "heavy metals", "metaux lourds": "heavy metals", "schwermetall": "heavy metals",
    # law and regulators
    "legal": "legal status law", "ilegal": "legal status banned", "illegal": "legal status banned",
    "prohib": "banned ban", "proib": "banned ban", "interdi": "banned ban", "verbot": "banned ban",
    "aprobad": "approved", "aprovad": "approved", "approuv": "approved", "zugelassen": "approved",
    "estados unidos": "United States", "eua": "United States", "etats-unis": "United States", "usa": "United States",
    "mexico": "Mexico", "brasil": "Brazil", "francia": "France", "franca": "France", "france": "France",
    "frankreich": "France", "alemania": "Germany", "alemanha": "Germany", "allemagne": "Germany",
    "deutschland": "Germany", "tailandia": "Thailand", "thailande": "Thailand", "malasia": "Malaysia",
    "malaisie": "Malaysia", "reino unido": "United Kingdom UK", "royaume-uni": "United Kingdom UK",
    "grossbritannien": "United Kingdom UK", "espana": "Spain", "espanha": "Spain", "espagne": "Spain",
    "canada": "Canada", "australia": "Australia", "australie": "Australia", "australien": "Australia",
    # products and facts
    "que es": "what is kratom", "o que e": "what is kratom", "qu'est-ce": "what is kratom", "was ist": "what is kratom",
    "hoja": "leaf", "folha": "leaf", "feuille": "leaf", "blatt": "leaf", "polvo": "powder", "po ": "powder",
    "poudre": "powder", "pulver": "powder", "capsula": "capsules", "gelule": "capsules", "kapsel": "capsules",
    "potencia": "potency strength", "puissance": "potency strength", "starke": "potency strength",
    "etiqueta": "label labelling", "rotulo": "label labelling", "etiquette": "label labelling",
    "mito": "myth claims", "mythe": "myth claims", "natural": "natural safe myth", "naturel": "natural safe myth",
    "naturlich": "natural safe myth",
}
_PATTERNS = [(re.compile(r"(?<![a-z])" + re.escape(stem.strip())), terms) for stem, terms in TERMS.items()]


def expand(text: str) -> str:
    """The English key terms for a non-English question (empty when none are known)."""
    folded = f" {fold(text)} "
    found: list[str] = []
    for pattern, terms in _PATTERNS:
        if pattern.search(folded) and terms not in found:
            found.append(terms)
    return " ".join(found)
