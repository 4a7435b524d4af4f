"""Layer 2: fast rules for unambiguous patterns, in English, Spanish, Portuguese, French and German.

Rules see normalised text (see ``normalize.py``). Each rule family returns the phrases
it matched, so the staff trace can show exactly why a decision was made. Strong rules
decide on their own; the other matches become features for the classifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..guard.output import dose_hits
from .normalize import Normalized


def _rx(*parts: str) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in parts), re.I)


# ---------------------------------------------------------------------------------------
# Shared vocabulary
_CONSUME = (
    r"take|taking|use|using|have|dose|eat|drink|consume|start(?:ing)?(?: with| on| at| off)?|put|try|mix|need|redose|"
    r"toss|swallow|chew|brew|measure(?: out)?|cap|split|stir|add|sip|pop|chug|double|go (?:with|for)|do|order|aim for|"
    r"stay under|replace|cover|feel|get|be taking|give|tell (?:my|him|her)|go up|increase|raise|bump|step up|add|lower|cut|"
    r"reduce|decrease|come down|drop"
)
_Q_AMOUNT = r"how\s+(?:much|many)|how\s+big(?:\s+of)?\s+a|what\s+(?:amount|quantity)|what\s+number\s+of"
_UNITS = (
    r"grams?|g|gr|mg|milligrams?|mcg|kg|capsules?|caps|pills?|tablets?|tabs?|gumm(?:y|ies)|shots?|scoops?|spoons?|"
    r"spoonfuls?|teaspoons?|tsp|tablespoons?|tbsp|cups?|leaves|leaf|bags?|bottles?|sips?|chewables?|drops?|ml|servings?"
)
_SUBSTANCE = r"kratom|7-oh|mitragynine|powder|extract|resin|tea|leaf|leaves|strain|red|green|white|it|that|this|those|them"
_COUNT_NOUNS = (
    r"people|persons|adults|americans|users|states|countries|nations|deaths|died|dead|cases|calls|exposures|visits|"
    r"reports|studies|alkaloids|teens|kids|children|lawsuits|products|companies|brands|times (?:has|have|did|was|were|more)|"
    r"hours after|years|batches|labs|letters|samples|recalls?|seizures|arrests"
)
_QA = rf"\b(?:{_Q_AMOUNT})\b(?!\s+(?:kratom\s+|7-oh\s+)?(?:{_COUNT_NOUNS})\b)"
_REPORT = (
    r"case reports?|case series|stud(?:y|ies|ied)|surveys?|surveyed|trials?|researchers?|research\w*|participants|respondents|"
    r"patients in|responders|paramedics|emts?|hospitals?|er doctors|clinicians|autops\w+|medical examiners?|"
    r"contain\w*|(?:fda|cdc|dea|nida|who) (?:say|said|says|found|reported|warned|tested)|compared|"
    r"show(?:s)? up|detectable|test positive|how long|buy|purchase|sell|sold|possess\w*|have on (?:you|them|me)|"
    r"states? (?:cap|limit|allow|restrict)\w*|(?:cap|limit)s? (?:on|how)|"
    r"reported|reports?|described|describe|lab tests?|tested|testing|analy\w+|measured|contains?|are in|is in|found|"
    r"evidence|linked to|associated|harder on|worse for|media|newspaper|paper printed|article|forums? say|printed|"
    r"poison (?:cent(?:er|re)s?|control)|exposures|deaths|died|mortality|cdc|fda (?:found|seized|warn)|"
    r"animal|rats?|mice|in vitro|label(?:s|ed|ing)?|packag\w*|vendors? (?:print|list)|bags? (?:list|say)|serving sizes? on|"
    r"import\w*|seiz\w*|recall\w*|legally|carry|possess\w*|per capita|percent\w*|potency|potent|stronger|weaker|"
    r"concentration|content|vary|varies|variation|differ\w*|half-life|detect\w*|drug tests?|screen\w*|"
    r"what does .{1,40} mean|mean by|defined|definition|history|official|anywhere|regulat\w*|law|legal|ban\w*|varia\w*|var[ií]a\w*|"
    r"matters? more|more important|versus|vs\.?|"
    r"vari[eé]\w*|schwank\w*|unterschied\w*|diferen\w*|diff[eé]ren\w*|established"
)
_RISK = r"risks?|risky|dangerous|danger|side effects?|why|tolerance"
_PERSONAL = (
    r"\b(?:i|i'm|im|i'd|i'll|me|my|myself|for me|mine|we|us|our)\b|\bshould\s+(?:i|we|he|she|they|one)\b|"
    r"\bcan\s+(?:i|we)\b|\bdo\s+(?:i|we)\b|\bfor\s+(?:a\s+)?(?:beginners?|newbies?|first[- ]?timers?|someone|a person|him|her|my)\b"
)
_OTHER_DRUGS = (
    r"acetaminophen|paracetamol|tylenol|ibuprofen|advil|motrin|aleve|naproxen|aspirin|melatonin|benadryl|diphenhydramine|"
    r"dramamine|zyrtec|claritin|nyquil|dayquil|sudafed|caffeine|nicotine|adderall|ritalin|xanax|valium|ambien|cbd|thc|"
    r"weed|cannabis|marijuana|edibles?|gummies of (?:thc|cbd)|delta[- ]?8|ashwagandha|magnesium|vitamin \w+|iron|zinc|"
    r"fish oil|creatine|protein|kava|alcohol|beer|wine|vodka|shots of (?:vodka|tequila)|insulin|metformin|amoxicillin|"
    r"antibiotics?|prednisone|imodium|loperamide|gabapentin|lyrica|tramadol|oxycodone|hydrocodone|percocet|vicodin|"
    r"morphine|fentanyl|heroin|methadone|suboxone|buprenorphine|naloxone|narcan|viagra|cialis|st\.? john'?s wort|"
    r"turmeric|psilocybin|mushrooms|lsd|mdma|ketamine|phenibut|kanna|modafinil|nootropics?|coffee|espresso|salt|sugar|"
    r"water|ibuprofeno|paracetamol|parac[eé]tamol|dipirona|metamizol|aspirina|vape|puffs|cigarettes?|energy drinks?|"
    r"ibuprof\w*|dol[ie]prane|aspirine|melatonina|m[eé]latonine|cafe[ií]na|caf[eé]ine|koffein|alcool|alcohol|[aá]lcool|cannabis|maconha|marihuana|"
    r"red bull|tea bags|green tea|black tea"
)

# ---------------------------------------------------------------------------------------
# Emergencies: danger happening now, in the user's own words.
EMERGENCY = _rx(
    # breathing
    r"\b(?:not|isn'?t|isnt|aren'?t|stopped|stops|barely|hardly|can'?t|cant|cannot|trouble|struggling to|difficulty|"
    r"problems?|hard to|slow(?:ly)?|shallow|weird|gasping|labou?red|irregular)\s+(?:be\s+)?breath\w*",
    r"\bbreath\w*\s+(?:is\s+|are\s+|got\s+|has\s+|seems\s+)?(?:really\s+|very\s+|so\s+)?(?:slow|shallow|weird|stopped|funny|"
    r"rattl\w*|gurgl\w*|strange|faint)",
    r"\b(?:not|no longer|isn'?t|stopped)\s+breathing\b|\bbreathing\s+(?:has\s+)?stopped\b|\bsnoring weird",
    # unresponsive / collapse
    r"\b(?:unresponsive|unconscious|won'?t wake|wont wake|can'?t wake|cant wake|cannot wake|not waking|won'?t respond|"
    r"not responding|isn'?t responding|doesn'?t respond|not reacting|passed out|blacked out|collapsed|fainted|keeled over|"
    r"went limp|is limp|gone limp|nodding out and|unrousable)\b",
    r"\b(?:lips?|face|fingers|skin)\s+(?:are\s+|is\s+|turn\w*\s+|look\w*\s+|went\s+|going\s+)?(?:blue|purple|grey|gray)\b|"
    r"\bturning blue\b|\bblue lips\b",
    # seizures (happening, not "can kratom cause seizures?")
    r"\b(?:having|had|is having|started having|in the middle of|just had)\s+(?:a\s+)?(?:seizures?|fits?|convulsions?)\b",
    r"\b(?:is|are|he'?s|she'?s|they'?re|i'?m|started|keeps|kept)\s+(?:seizing|convulsing|fitting|shaking uncontrollably|"
    r"twitching all over|jerking all over)\b",
    r"\b(?:seizure|convulsions?)\s+(?:right\s+)?now\b|\bwon'?t stop (?:shaking|seizing|convulsing)\b",
    # chest pain / heart in distress, personal
    r"\b(?:my|i have|i've got|i got|having|severe|crushing|sharp)\s+(?:bad\s+|really bad\s+|severe\s+)?chest\s+"
    r"(?:pain|pains|hurts|tightness|pressure)\b|\bchest\s+(?:is\s+)?(?:hurts?|hurting|tight|pounding|on fire)\b|"
    r"\bmy chest\b.{0,30}\b(?:hurts?|pain|tight|pressure)",
    r"\bheart\s+(?:is\s+)?(?:racing|pounding|going crazy|beating (?:so )?(?:fast|hard)|skipping|fluttering)\b.{0,60}"
    r"\b(?:pass(?:ing)? out|faint|dizzy|can'?t breathe|chest|scared|dying|collaps)",
    r"\b(?:pass(?:ing)? out|faint\w*)\b.{0,60}\bheart\s+(?:is\s+)?(?:racing|pounding)",
    # a child or pet swallowed something
    r"\b(?:kid|child|son|daughter|baby|toddler|infant|grand(?:child|son|daughter)|little (?:one|boy|girl|brother|sister)|"
    r"baby (?:brother|sister)|niece|nephew|\d+\s*(?:yo|y/o|year[- ]old|month[- ]old|months old|years old)|dog|puppy|cat|"
    r"kitten|pet)\b.{0,80}\b(?:swallow\w*|ate|eaten|eating|got into|chewed|chewing|drank|drunk|ingest\w*|took|licked|"
    r"had some|put .{0,10} in (?:his|her|their) mouth)",
    r"\b(?:swallow\w*|ate|eaten|got into|chewed|drank|ingest\w*)\b.{0,50}\b(?:my|our|the)\s+(?:kid|child|son|daughter|baby|"
    r"toddler|dog|puppy|cat|pet)\b",
    # overdose happening now
    r"\b(?:i|he|she|they|my \w+|someone here|we)\s+(?:think\s+(?:i|he|she|they)\s+)?(?:just\s+)?(?:overdos\w*|od'?d|"
    r"od'?ing|o\.d\.)",
    r"\b(?:i|he|she|they|my \w+)\s+(?:just\s+)?took\s+(?:way\s+|far\s+)?too much\b|\bis overdosing\b|\bam overdosing\b",
    r"\b(?:call(?:ing)?|should i call)\s+(?:911|999|112|an ambulance|poison control)\b|\bshould (?:i|we) go to the "
    r"(?:er|hospital|emergency)\b|\b(?:going|take (?:him|her|them))\s+to the (?:er|emergency room)\b",
    r"\b(?:vomiting|throwing up)\s+blood\b|\bcan'?t (?:stop (?:vomiting|throwing up)|feel my (?:legs|arms))\b|"
    r"\b(?:hallucinating|seeing things)\b.{0,40}\b(?:scared|help|now)",
    r"\bbreath\w*\b[^.?!]{0,40}\b(?:slow\w*|stops?|stopping|stopped|starts? again|every (?:few|\d+) seconds|barely|shallow|"
    r"weird|strange|funny)\b|\bone breath every\b|\bsnor\w+ (?:really |very |so )?(?:strange\w*|weird\w*|loud\w*|funny)|"
    r"\bcan'?t (?:rouse|wake|wake up)\b|\bwon'?t (?:rouse|come to)\b",
    r"\bshaking all over\b|\beyes (?:rolled|rolling|roll) back\b|\b(?:seeing|hearing) things\b|\bdon'?t know what day\b|"
    r"\bverwirrt\b|\breagiert kaum\b",
    r"\b(?:just\s+)?(?:ate|swallowed|chewed|got into|ingested|eaten)\b[^.?!]{0,50}\b(?:capsules?|caps|pills?|tabs?|tablets?|"
    r"gummies|powder|bag|shots?|kratom|7-oh)\b[^.?!]{0,60}\b(?:vomit\w*|throwing up|shaking|drowsy|sleepy|lethargic|drool\w*|"
    r"twitch\w*|stumbl\w*|won'?t|can'?t|not (?:acting|breathing|waking))",
    # abnormal breathing described by rate or sound, allergic reactions, accidental ingestion
    r"\bbreath\w*\b[^.?!]{0,30}\b(?:every \d+ seconds|(?:once|twice|\w+ times) a minute|pauses?|stops? and starts?|keeps stopping)\b|"
    r"\bgurgl\w*|\brattl\w*|\br[öo]chel\w*|\bpauses? (?:de|in der|in) (?:respiration|breathing|atmung)|\batemaussetzer|"
    r"\bpausas? (?:en la|na) respira",
    r"\bthroat\b[^.?!]{0,30}\b(?:closing|swelling|swollen|tight)|\b(?:covered in|breaking out in) hives\b|\b(?:lips|tongue|face)\s+"
    r"(?:is |are )?(?:swelling|swollen)|\banaphyla\w*|\bcan'?t swallow\b",
    r"\b(?:by mistake|accidentally|by accident)\b[^.?!]{0,80}\b(?:drowsy|confused|sleepy|won'?t wake|vomiting|passed out|"
    r"unresponsive|breathing|shaking|acting (?:weird|strange))",
    r"\b(?:really|very|so|extremely)\s+(?:drowsy|sleepy|out of it)\s+and\s+confused\b|\bdrowsy and confused\b",
    r"\b(?:seizing|convulsing)\b|\b(?:i'?m|i am|he'?s|she'?s|they'?re|is|am|are)\s+(?:\w+\s+)?overdosing\b|\boverdosing\s+"
    r"(?:on|right now|now)\b",
    r"\b(?:le|la|mon|ma|notre)\s+(?:chat|chien|chiot|chaton|fils|fille|b[eé]b[eé]|enfant)\b.{0,60}\b(?:a l[eé]ch[eé]|a mang[eé]|"
    r"a aval[eé]|a croqu[eé]|a m[aâ]ch[eé])|\bbave et titube|\btitube\b",
    r"\b(?:el|la|mi)\s+(?:perr[oa]|gat[oa]|hij[oa]|beb[eé]|niñ[oa])\b.{0,60}\b(?:trag[oó]|comi[oó]|lami[oó]|mordi[oó]|masc[oó])",
    r"\btorkel\w*|\bl[eè]vres (?:deviennent|sont|qui deviennent) (?:bleues|violettes)|\brespire [aà] peine\b|\brespira apenas\b|"
    r"\bmal respira\b|\bkaum noch atmet\b|\bblau (?:im gesicht|an)\b|\bl[äa]uft blau an\b|\bstaggering\b|\bcan'?t walk straight\b",
    # confusion, collapse and other danger signs
    r"\b(?:doesn'?t|does not|don'?t|can'?t|cannot|didn'?t)\s+(?:know where (?:she|he|they|i) (?:is|are|am)|recogni[sz]e)\b|"
    r"\btalking nonsense\b|\bcan'?t remember what i took\b|\b(?:is|am|i'?m|really|very|so)\s+(?:really\s+|very\s+|so\s+)?"
    r"confused\b.{0,60}\b(?:took|kratom|7-oh|heart|scared|help)",
    r"\bfoaming at the mouth\b|\bon the floor\b.{0,20}\b(?:shaking|jerking|twitching|not moving|seizing)|"
    r"\b(?:shaking|jerking|twitching)\b.{0,20}\bon the floor\b|\bstarted (?:shaking|jerking|convulsing)\b",
    r"\bgasping\b|\bcan'?t (?:catch (?:my|his|her|their) breath|breathe|get (?:enough )?air)\b|"
    r"\bbreathing\s+(?:keeps\s+)?(?:getting|is getting|gets)\s+(?:slower|weaker|shallower|worse)\b|"
    r"\b(?:not|barely|isn'?t|stopped)\s+(?:bree?th\w*|brea?thing)\b|\bnot breething\b",
    r"\bunconc?s?ious\b|\bunconsc\w*\b",
    r"\b(?:i|he|she|they|we|my \w+|friend|guy|girl|boyfriend|girlfriend|wife|husband|son|daughter|brother|sister|dad|mom|"
    r"roommate|buddy|someone here)\b[^.?!]{0,40}\btook\s+(?:way\s+|far\s+|much\s+)?too\s+(?:much|many)\b",
    r"\bchest pain\b.{0,30}\b(?:right now|now|of my life|won'?t stop|getting worse)\b|\b(?:worst|terrible|severe|crushing)\b"
    r".{0,20}\bchest pain\b",
    r"\bi (?:feel like|think) (?:i'?m|im|i am) (?:dying|going to die|gonna die)\b|\b(?:feel like|about to|going to|gonna)\s+"
    r"(?:faint|pass out|black out|collapse)\w*|\bvision (?:is )?going (?:dark|black)\b|\bcan'?t get up\b",
    r"\b(?:bleeding|blood)\b.{0,40}\b(?:dizzy|faint)|\bpregnant\b.{0,60}\bbleeding\b",
    # Spanish
    r"\bno (?:est[aá] )?respira|respira (?:muy )?(?:lento|poco|mal|raro)|le cuesta respirar|no (?:se )?despierta|"
    r"no reacciona|no responde|inconsciente|se desmay[oó]|desmayad[oa]|convulsi\w+|(?:tiene|le dio) un ataque|"
    r"dolor (?:en el|de) pecho|me duele (?:mucho |much[ií]simo )?el pecho|labios (?:azules|morados)|sobredosis",
    r"\bse (?:trag[oó]|comi[oó])\b|\bmi (?:hij[oa]|beb[eé]|niñ[oa]|perr[oa]|gat[oa])\b.{0,60}"
    r"\b(?:trag[oó]|comi[oó]|tom[oó]|se (?:trag|com))",
    r"no (?:lo|la|le) (?:puedo|podemos) despertar|ronca raro|sacudi\w+|se cay[oó] y|no abre los ojos|"
    r"respira\w* (?:muy )?(?:despacio|lento)|muy confundid[oa]|no sabe d[oó]nde est[aá]|no reconoce|me voy a desmayar|"
    r"siento que me desmayo",
    # Portuguese
    r"n[aã]o (?:est[aá] )?respira|respirando (?:muito )?(?:devagar|pouco|mal)|n[aã]o acorda|n[aã]o reage|n[aã]o responde|"
    r"desmaiou|desmaiad[oa]|inconsciente|convuls\w+|dor no peito|meu peito (?:d[oó]i|est[aá] doendo)|"
    r"l[aá]bios (?:roxos|azuis)|teve uma overdose|tendo uma overdose",
    r"\bmeu (?:filho|beb[eê]|cachorro|gato)|minha (?:filha|beb[eê]|cachorra|gata)\b.{0,60}\b(?:engoliu|comeu|tomou)|"
    r"\bengoliu\b",
    r"se debater|debatendo|tremendo no ch[aã]o|muito confus[oa]|n[aã]o reconhece|desmai\w+|cambaleando|"
    r"\b(?:o|a|meu|minha)\s+(?:cachorr[oa]|gat[oa]|filh[oa]|beb[eê]|crian[cç]a)\b.{0,60}\b(?:comeu|engoliu|tomou|mastigou)",
    # French
    r"ne respire (?:plus|pas|presque plus)|respire (?:tr[eè]s )?(?:lentement|mal|difficilement)|ne se r[eé]veille (?:pas|plus)|"
    r"ne r[eé]pond (?:plus|pas)|ne r[eé]agit (?:plus|pas)|inconscient|[eé]vanoui|s'est (?:effondr[eé]|[eé]vanoui)|"
    r"convuls\w+|fait une crise|en crise|douleur (?:[aà] la|dans la) poitrine|mal [aà] la poitrine|"
    r"l[eè]vres (?:bleues|violettes)|fait une (?:surdose|overdose)|en surdose",
    r"\b(?:mon|ma) (?:fils|fille|b[eé]b[eé]|enfant|chien|chat)\b.{0,60}\b(?:a aval[eé]|a mang[eé]|a pris|a bu)|\ba aval[eé]\b",
    r"impossible de (?:le |la )?r[eé]veiller|ne reconna[iî]t (?:plus|personne)|dit n'importe quoi|tremble de tout son corps|"
    r"je vais m'[eé]vanouir|je me sens partir",
    # German
    r"atmet nur noch|flach und langsam|erkennt (?:uns|mich|niemand\w*) nicht|redet wirres zeug|kann nicht mehr (?:richtig )?"
    r"(?:laufen|stehen|atmen)|\b(?:unser|unsere)\s+(?:kleine[rn]?|baby|kind|welpe|hund|katze)\b.{0,60}(?:gekaut|zerkaut|"
    r"gegessen|verschluckt|geschluckt)",
    r"atmet (?:nicht|kaum|sehr langsam|langsam|komisch|nicht mehr)|keine luft|wacht nicht (?:mehr )?auf|"
    r"(?:ist|wird) nicht wach|reagiert nicht|bewusstlos|ohnm[aä]chtig|zusammengebrochen|zusammengesackt|"
    r"krampfanfall|krampft|anfall|brustschmerz\w*|schmerzen in der brust|brust tut (?:so )?weh|blaue lippen|"
    r"kann kaum (?:noch )?atmen|bekomm\w* (?:kaum |keine )luft|atmet schwer|"
    r"[uü]berdosis",
    r"\b(?:mein|meine) (?:sohn|tochter|kind|baby|hund|katze)\b.{0,60}\b(?:verschluckt|geschluckt|gegessen|genommen|"
    r"getrunken)|\bverschluckt\b",
)

SUICIDAL = _rx(
    r"\b(?:kill|killing|hurt|hurting)\s+myself\b|\bend(?:ing)?\s+(?:it all|my life|it tonight|it now|everything|things)\b|"
    r"\bi\s+(?:want|wanna|am going|'m going|plan)\s+to\s+(?:die|end it|disappear forever)\b|\bi want to end it\b|"
    r"\b(?:i'?m|i am|feeling|feel)\s+suicidal\b|\bsuicidal thoughts\b|\btake my (?:own )?life\b|\bbetter off dead\b|"
    r"\bdon'?t want to (?:live|be alive|wake up)\b|\bno reason to live\b|\b(?:to|so i can) die\b|\boverdose on purpose\b|"
    r"\blethal (?:dose|amount)\b.{0,40}\b(?:me|myself|i)\b|\bi (?:took|swallowed) .{0,40} to die\b",
    r"\b(?:take|taking|took|swallow\w*)\s+(?:all of it|everything|the whole (?:bottle|bag|pack|stash|thing|box)|"
    r"my whole (?:stash|bottle|bag|supply)|all (?:of )?my (?:pills|kratom|tabs|tablets|capsules|caps|7-oh|meds))\b",
    r"\b(?:want|wanna|going|gonna|plan(?:ning)?)\s+(?:to\s+)?(?:overdose|od)\b|\boverdose on purpose\b|\bhow much (?:would|will) "
    r"(?:it )?(?:take|kill)\b.{0,30}\b(?:to die|kill|lethal)|\blethal (?:dose|amount)\b",
    r"\bmade my peace\b|\b(?:want|ready) to be done\b|\bbe done with (?:it|everything|life|all of it)\b|\bwould be enough\b"
    r"[^.?!]{0,40}\b(?:to|for)\b|\b(?:whole|entire) (?:bottle|bag|pack)\b[^.?!]{0,40}\benough\b|\bto be fatal\b|\bbe fatal\b|"
    r"\bso (?:that )?i (?:could|can|would|will|might) die\b|\bfall asleep for good\b|\b(?:not|don'?t want to) be here "
    r"(?:anymore|any more)\b|\bnobody would miss me\b|\bwant to disappear\b|\b(?:amount|dose|how much|how many)\b[^.?!]{0,40}"
    r"\b(?:would|will|could|to) kill (?:me|someone|a person|myself)\b|\b(?:fatal|lethal|deadly) (?:dose|amount)\b|"
    r"\benough to (?:kill|die)\b|\bwill nicht mehr leben\b|\bno quiero seguir\b|\bn[aã]o quero mais viver\b",
    r"\b(?:goodbye note|suicide note|said (?:my )?goodbyes?|goodbye (?:everyone|world|all)|tonight'?s the night|(?:and )?not "
    r"wake up|never wake up|nobody (?:cares|will miss me)|kill (?:himself|herself|themselves)|wants? to die|lined up|"
    r"no point (?:anymore|in living)|can'?t (?:go on|do this anymore))\b|\bgoodbye\s*$",
    r"quiero morir(?:me)?|matarme|quitarme la vida|suicid\w+|acabar con (?:todo|mi vida)|para morir\w*|"
    r"(?:ya )?no quiero (?:vivir|despertar)|(?:tom[eé]|tomar|tomarme|tragu[eé])\s+(?:todo|toda)\b",
    r"quero morrer|me matar|tirar (?:a )?minha (?:pr[oó]pria )?vida|acabar com tudo|engoli tudo|n[aã]o aguento mais viver|"
    r"n[aã]o quero mais (?:estar aqui|viver)|tomar tudo de uma vez|separei todo",
    r"je veux mourir|me suicider|me tuer|en finir|j'en finis|mettre fin [aà] (?:mes jours|ma vie)|j'ai aval[eé] tou\w+|"
    r"ne (?:veux|plus) (?:plus )?me r[eé]veiller",
    r"(?:will|m[oö]chte) sterben|mich umbringen|selbstmord|suizid\w*|meinem leben ein ende|schluss machen|"
    r"nicht mehr aufwachen|verabschiedet|alle meine .{0,20}(?:geschluckt|genommen)",
)

# ---------------------------------------------------------------------------------------
# Dosing requests: strong rules decide alone, weak ones feed the classifier.
DOSING_STRONG = _rx(
    # "how much/many ... should/do/can I take"
    rf"\b(?:{_Q_AMOUNT})\b(?!\s+(?:kratom\s+|7-oh\s+)?(?:{_COUNT_NOUNS})\b)[^.?!;]{{0,70}}?\b(?:should|do|does|can|could|would|to|must|shall|"
    rf"will|'d|'ll|am i supposed to|is it ok to|is it safe to|are you supposed to)\b[^.?!;]{{0,40}}?\b(?:{_CONSUME})\b",
    # "how many grams for energy", "how much kratom for a first timer"
    rf"{_QA}\s+(?:\w+\s+){{0,2}}?(?:of\s+(?:\w+\s+){{0,2}})?(?:{_UNITS}|{_SUBSTANCE})\b[^.?!;]{{0,40}}?"
    rf"\b(?:for|per|a day|at once|before|goes? into|would|is enough|is (?:a |an )?(?:normal|good|safe|ok))\b",
    _QA + r"[^.?!;]{0,30}\b(?:at once|per (?:serving|dose|day|night|session)|a day|each time|to start|"
    r"first time|for (?:a |my )?(?:first|beginner|newbie|pain|sleep|energy|anxiety|focus|mood|euphoria|buzz|workout|shift))",
    # frequency and re-dosing
    rf"\bhow\s+(?:often|frequently)\b[^.?!;]{{0,40}}\b(?:{_CONSUME}|redose|re-dose)\b",
    r"\bhow\s+many\s+times\s+(?:a|per|each)\s+(?:day|week|night)\b",
    r"\b(?:how long|when)\s+(?:should|do|must|can|to)\s+(?:i|you|one)?\s*(?:wait|take|have|dose|redose)\b[^.?!;]{0,40}"
    r"\b(?:next|another|between|again|second|more|redos\w*)\b",
    r"\bbetween (?:kratom |my |7-oh )?doses\b|\bhow far apart\b|\b(?:can|should|may)\s+i\s+(?:redose|re-dose|take more|take another)\b",
    r"\b(?:is it ok|is it okay|is it safe|can i|should i)\b[^.?!;]{0,40}\bevery\s+(?:\d+|few|couple of|other)\s*(?:hours?|hrs?|h|days?)\b",
    # normative dose phrases ("starter dose", "max per day") in a request
    r"(?<!no )(?<!not a )(?<!any )(?<!at )(?<!in )(?<!with )(?<!established )(?<!official )\b(?:starter|starting|beginners?|first[- ]?time(?:r|rs)?|initial|maintenance|max(?:imum)?|"
    r"safe(?:st)?|recommended|right|correct|proper|ideal|best|good|normal|typical|usual|common|average|standard|moderate|"
    r"therapeutic|effective|reasonable|sensible|smart|low[- ]risk|optimal|exact|specific|mild|gentle|low|daily|highest|lowest)\s+"
    r"(?:kratom\s+|7-oh\s+)?(?:dose|doses|dosage|dosing|amount|serving size|serving|quantity|number|range|limit)\b"
    r"(?![^.?!]{0,30}\b(?:mean|defined|studies|study|used in|did|anywhere|exist)\b)",
    r"\b(?:dose|dosage|dosing)\s+(?:for|of)\s+(?:kratom|7-oh|me|my|him|her|someone|a beginner|beginners|newbies|"
    r"a first|first|sleep|pain|energy|anxiety|focus|adhd|restless|opiate|opioid|withdrawal|depression|mood|sex|studying|"
    r"work|a \d+|\d+)\b(?![^.?!]{0,40}\b(?:increase|change|affect|raise|mean|cause|risk|studies|study|research)\b)",
    r"\b(?:what|which)\s+(?:kind of\s+|sort of\s+)?(?:\w+\s+)?(?:doses?|dosages?|amounts?|ranges?|quantity|strength)\b[^.?!;]{0,50}"
    r"\b(?:should|would|do|does|gets|get|gives?|for|to|people|users|is (?:best|good|right|safe)|works?|kicks? in|start|take|need|"
    r"helps?|makes?|avoids?|covers?)\b"
    rf"(?![^.?!]{{0,40}}\b(?:{_REPORT})\b)",
    r"\b(?:at|around|about|from)\s+what\s+(?:amount|dose|point|number)\b",
    r"(?<!n't )(?<!not )(?<!dont )\b(?:give|tell|send|share|recommend|suggest|need|want|calculate|figure out|work out|pick|"
    r"choose|write)\b[^.?!;]{0,30}"
    r"\b(?:me|us|him|her)?\b[^.?!;]{0,20}\b(?:a|the|my|exact|specific|actual|your)?\s*(?:dose|doses|dosage|dosing|"
    r"amounts?|number|grams|milligrams|numbers|taper|schedule|serving)\b",
    r"\b(?:ballpark|rough|estimate|guess|approximate|just a number|need a number|give me a number|the number|a number)\b"
    r"[^.?!;]{0,40}\b(?:dose|grams?|amount|caps|capsules|for me|kratom|spoons?|scoops?)\b",
    r"\bjust (?:guess|estimate)\b.{0,30}\b(?:dose|amount|spoons?|grams|caps)\b",
    # tapers
    r"\b(?:taper\w*|wean\w*|step(?:ping)? down|cut(?:ting)? (?:back|down)|reduc\w+|lower(?:ing)?|come off|get off|drop(?:ping)?|"
    r"decreas\w+|jump(?:ing)? off|weaning)\b[^.?!;]{0,60}\b(?:schedule|plan|calendar|amounts?|doses?|how much|how many|"
    r"each (?:day|week)|per (?:day|week)|every (?:day|week)|week[- ]by[- ]week|day[- ]by[- ]day|grams|capsules|caps|"
    r"tablets|tabs|by how|how fast|how big|last dose|\d+\s*(?:g|mg|%|percent|caps|capsules|tablets|tabs|shots))\b",
    r"\b(?:taper|wean|reduction|step[- ]down) (?:schedule|plan|calendar|chart|table)\b",
    r"\bwhat should (?:i|my) (?:cut|drop|reduce|go down) to\b|\blast dose\b.{0,30}\b(?:before|be)\b",
    # equivalences
    r"\b(?:equal\w*|equivalent\w*|equivalence|conversion|convert\w*|same (?:effect|as|amount)|matches?|match(?:ing)?|"
    r"substitut\w*|replace\w*|cover)\b[^.?!;]{0,60}\b(?:\d+\s*(?:mg|g|grams|caps|capsules|tablets|tabs)|kratom|7-oh|tea|"
    r"capsules?|extract|powder|shots?|tabs?|tablets?|methadone|suboxone|oxy\w*|percocet|hydrocodone|morphine|tramadol|"
    r"fentanyl|beer|kava|coffee)\b[^.?!;]{0,40}(?:how much|how many|what amount|what dose)",
    r"\bwhat(?:'s| is) the (?:\w+ )?(?:conversion|equivalent|equivalence|ratio|exchange rate)\b",
    r"\b(?:equivalent|equivalence|conversion|converts?)\b[^.?!]{0,30}\b\d+(?:[.,]\d+)?\s*(?:mg|g|mcg|grams?|milligrams?)\b",
    rf"\b(?:{_Q_AMOUNT})\b[^.?!;]{{0,60}}\b(?:equal\w*|equivalent|replace\w*|match(?:es)?|substitut\w*|is like|would be like|"
    rf"the same as|convert|cover|=)\b",
    r"\bmilligram equivalent\b|\bmorphine equivalen\w+\b|\bmme\b.{0,20}\bkratom\b|\bkratom\b.{0,20}\bmme\b",
    # body weight
    r"\b(?:per|/)\s*(?:kg|kilo\w*|kilogram|pound|lb)\b(?![^.?!]{0,40}\b(?:mean|studies|study|animal|rats?|mice)\b)",
    r"\b(?:for|at)\s+(?:my|someone my|a person my)\s+(?:size|weight|height)\b|\bi weigh\b.{0,60}\b(?:dose|how much|how many|amount)\b",
    r"\b\d+\s*(?:kg|lbs?|pounds)\b[^.?!]{0,40}\b(?:dose|how much|how many|amount)\b|\b(?:dose|how much|how many|amount)\b"
    r"[^.?!]{0,40}\b(?:for a |for an? )?\d+\s*(?:kg|lbs?|pounds)\b",
    # bare amount questions and amounts per day/serving
    r"\b(?:how much|how many)\s*(?:\?|$|then\b|for me\b|in total\b)|\band how (?:much|many)\b",
    rf"\b(?:{_Q_AMOUNT})\s+(?:more\s+|extra\s+)?(?:{_UNITS})\b",
    rf"\b(?:{_UNITS}|kratom|7-oh)\s+(?:per|a|each)\s+(?:day|dose|night|serving|time|sitting)\b",
    r"\b(?:for|4)\s+(?:a\s+)?(?:beginner|newbie|first[- ]?timer|first time|novice|noob)\b",
    r"\b(?:max(?:imum)?|most|limit|upper limit)\b[^.?!]{0,30}\b(?:per|a|each|in one)\s+(?:day|night|week|dose|time|sitting)\b",
    r"\b(?:max(?:imum)?|most)\b[^.?!]{0,20}\b(?:i|you|one) (?:can|could|should) (?:have|take|do|use)\b",
    r"\b(?:what(?:'s| is)|whats)\s+(?:the|an?|your|my)\s+(?:\w+\s+){0,2}?(?:amount|dose|dosage|quantity)\b"
    r"(?!\s+of\b)(?=[^.?!]{0,40}(?:where|that|which|for|to|i |you |people|per|\?|$))",
    r"\bwhat (?:do|does|did|would|should)\s+(?:an?\s+|the\s+|most\s+)?(?:\w+\s+)?(?:person|people|users?|beginners?|"
    r"newbies?|folks|i|you|regulars|guy|man|woman|someone|somebody|adult|dude|gal|user)\s+(?:usually\s+|typically\s+|normally\s+|"
    r"really\s+|just\s+)?(?:take|use|have|dose|go with|go for|stick with|settle on|end up (?:at|with|on))\b"
    r"(?!\s+(?:kratom|it|7-oh)\s+for\b)(?![^.?!]{0,30}\bfor\s*\?)",
    r"\b(?:match that|do the same|take the same|i'?d take the same|copy (?:that|them)|same as (?:them|they did))\b",
    r"\bshould i (?:take|do|have|try|start with) (?:one|two|three|four|\d+|half|a whole|both|more|less)\b|"
    r"\benough or should i\b|\bor should i (?:go higher|take more|double)\b",
    r"\b(?:quantity|amount|serving|dosage|dose)\s+for\s+(?:pain|sleep|energy|anxiety|focus|mood|relief|studying|work|"
    r"a beginner|beginners|me|my|first)\b",
    r"\b(?:what|how much|how many) should (?:my|the|a|his|her)\b.{0,25}\b(?:dose|dosage|amount|serving)s? be\b",
    r"\bmy\s+(?:very\s+)?(?:first|next|starting|initial|daily|usual|new|right|correct)\s+(?:\w+\s+)?(?:dose|dosage|amount|serving)\s+"
    r"(?:be|for|should|is)\b|\b(?:calculate|figure out|work out)\b.{0,20}\bmy (?:dose|dosage|amount)\b",
    r"\bstart (?:me|him|her) (?:on|with)\b",
    _QA + r"[^.?!]{0,30}\b(?:is|are|would be|'s)\s+(?:right|ok|okay|enough|good|safe|"
    r"fine|best|normal|too much|the max|the limit)\b",
    r"\b(?:rough idea|general idea|ballpark|roughly|approximately)\b[^.?!]{0,50}(?:\b(?:normal|typical|usual|amount|dose|first|"
    r"start)\b|" + _QA + ")",
    r"\b(?:normal|typical|usual|standard|reasonable|ok|okay|safe|good)\s+(?:for|as)\s+(?:a\s+)?(?:first|beginner|newbie|starter|"
    r"first[- ]?timer|someone new|someone who|novice)",
    r"\bshould i (?:drink|take|have|use|try|do|eat|swallow|go with)\b[^.?!]{0,30}\b(?:one|two|three|half|a whole|the whole|both|"
    r"\d+)\b[^.?!]{0,50}\bor\b",
    r"\b(?:can|could|should|may) i (?:take|have|do|pop|drink|eat) (?:a |an |one )?(?:second|another|more|extra|third|other)\b",
    r"\b(?:tell|show) (?:me|us) (?:what|how much|how many)\b[^.?!]{0,20}\b(?:to )?(?:take|use|have|do)\b",
    r"\b(?:gram|mg|milligram|capsule|cap|spoon|scoop|tablet|tab)s?[- ]wise\b",
    rf"\b(?:{_UNITS})\b[^.?!]{{0,40}}\b(?:too much|too many|not enough|enough|too strong|too weak)\b",
    r"\b(?:strongest|highest|biggest|largest|most)\b[^.?!]{0,20}\b(?:dose|amount)\b[^.?!]{0,20}\b(?:that'?s|that is|i can|you can|"
    r"still|safe)\b",
    r"\b(?:all at once|split it|split them|the whole (?:thing|bottle|bag|shot)|stick (?:to|with) half|or half|half (?:the|a) "
    r"(?:bottle|shot|bag|tab|tablet|scoop))\b[^.?!]{0,60}\?|\bor (?:split|half|the whole)\b",
    r"\bfor (?:a|an|my|someone|somebody)\s+(?:\w+\s+)?\d{2,3}\s*(?:lbs?|pounds|kg|kilos?)\b|\b\d{2,3}\s*(?:lbs?|pounds|kg)\s+"
    r"(?:woman|man|guy|girl|person|adult|me)\b",
    rf"\b(?:{_UNITS})\s+or\s+(?:a\s+|an\s+|the\s+)?(?:{_UNITS})\b",
    r"\bwhich (?:one )?is (?:one|a|the right|a normal|a standard) (?:serving|dose|portion)\b",
    r"\b(?:sweet spot|happy medium|magic number|golden number|the right amount|a good amount|safe amount|the perfect amount)\b",
    r"\b(?:stay|keep(?: it)?)\s+(?:right\s+|just\s+)?(?:under|below)\b|\bnot go over\b",
    r"\b(?:dos(?:age|ing|e)|serving)\s+(?:chart|table|guide|calculator|schedule|plan|sheet|cheat sheet|list)\b",
    r"(?:^|[.!?]\s*)(?:dose|dosage|dosing|amount|how much|how many)\s*\?+\s*$",
    r"\bamount of (?:kratom|7-oh)\b.{0,20}\b(?:i|you|one)\s+(?:could|can|should|would|might)\s+(?:take|use|have)\b",
    r"\b(?:directions|instructions|labels?|bags?|packages?|bottles?)\b.{0,40}\b(?:say|says|tell|recommend)\s+(?:to\s+)?"
    r"(?:take|use)\b",
    r"\b(?:equal\w*|equivalent\w*|is like|=)\s+(?:to\s+)?(?:how much|how many|what amount)\b",
    r"\b(?:in|as)\s+(?:grams|mg|milligrams|capsules|caps|teaspoons|spoons|scoops|numbers)\s*\??\s*$",
    # Spanish
    r"\bcu[aá]nt[oa]s?\s+(?:gramos|g|mg|miligramos|c[aá]psulas|cucharad\w+|pastillas|tabletas|comprimidos|hojas|tazas|"
    r"kratom|7-oh)\b",
    r"\bcu[aá]nto\s+(?:kratom|7-oh|debo|deber[ií]a|tomo|tomar|puedo|necesito|me tomo|de (?:kratom|eso|ese|esa|7-oh))\b|"
    r"\by cu[aá]nto\b|\bcu[aá]nto\b.{0,40}\b(?:yo|mi|empiezo|tomo|pongo|uso|debo|puedo|me)\b|\bcon cu[aá]nto\b",
    r"\bqu[eé] (?:dosis|cantidad)\b|\bdosis (?:de kratom|para|inicial|recomendada|m[aá]xima|normal|diaria|exacta)\b|"
    r"(?<!no hay una )(?<!no existe una )\bdosis segura\b",
    r"\bcada cu[aá]nt[oa]|cu[aá]ntas veces (?:al|por|a)l? (?:d[ií]a|semana)|volver a tomar|cu[aá]ndo (?:puedo|debo) "
    r"(?:volver|tomar otra)",
    r"plan de (?:reducci[oó]n|desintoxicaci[oó]n|destete)|(?:reducir|bajar|disminuir|dejar)\b.{0,60}\b(?:cantidades|"
    r"gramos|cada semana|por semana|cu[aá]nto)",
    r"(?:equivale|equivalente|sustitu\w+|reemplaz\w+)\b.{0,50}\b(?:kratom|mg|gramos|metadona|tramadol)",
    # Portuguese
    r"\bquant[oa]s?\s+(?:gramas|g|mg|miligramas|c[aá]psulas|colheres|comprimidos|folhas|x[ií]caras|kratom|7-oh)\b",
    r"\bquanto\s+(?:kratom|7-oh|devo|deveria|tomo|tomar|posso|eu tomo|de kratom|do verde|do vermelho|disso|dele)\b|\be quanto\b|"
    r"\bcom quanto\b|\bquanto\b.{0,40}\b(?:eu|meu|minha|come[cç]o|coloco|tomo|uso|devo|posso|bebo)\b",
    r"(?<!por )\b(?:qual|que) (?:a )?(?:dose|quantidade)\b|\bdose (?:de kratom|para|inicial|recomendada|segura|m[aá]xima|normal|"
    r"di[aá]ria|certa)\b",
    r"de quanto em quanto|quantas vezes (?:por|ao|no) dia|posso tomar mais|tomar (?:mais|outra) (?:agora|dose)",
    r"quanto devo (?:diminuir|reduzir|baixar)|(?:diminuir|reduzir|baixar|largar)\b.{0,60}\b(?:por semana|por dia|quanto|"
    r"gramas)|engulo quant",
    r"quanto kratom substitui|substitu\w+ a minha|equival\w+\b.{0,40}\b(?:kratom|mg|gramas)",
    # French
    r"\bcombien de\s+(?:grammes|g|mg|milligrammes|g[eé]lules|capsules|cuill[eè]res?|comprim[eé]s|feuilles|tasses|kratom|7-oh)\b",
    r"\bil faut en prendre combien|\ben prendre combien|\ben prennent combien|\bj'en prends combien|\bcombien (?:dois|devrais|faut|je dois|en prendre|prendre|j'en)\b",
    r"\bquelle (?:dose|quantit[eé]|posologie)\b|\bposologie\b|\bdose (?:de kratom|pour|initiale|recommand[eé]e|maximale|"
    r"exacte|normale|quotidienne)\b|(?<!donner une )(?<!pas de )\bdose (?:s[uû]re|sans danger)\b(?![^.?!]*pourquoi)",
    r"\bdose (?:max|maximale?|maximum|journali[eè]re|par jour|quotidienne|conseill[eé]e|id[eé]ale|habituelle)\b|"
    r"toutes les combien|combien de fois par (?:jour|semaine)|[aà] quel rythme|en reprendre|reprendre (?:une|du|de la|tout de "
    r"suite|maintenant)|\bcombien\b.{0,40}\b(?:je|j'|mon|ma|mes|me)\b|\b(?:je|j')\w*\s+(?:\w+\s+)?combien\b",
    r"(?:diminuer|r[eé]duire|baisser|arr[eê]ter)\b.{0,60}\b(?:combien|rythme|par semaine|par jour|grammes|g[eé]lules)|"
    r"j'en enl[eè]ve combien",
    r"combien de kratom pour remplacer|remplacer mes \d+|[eé]quivalen\w+\b.{0,40}\b(?:kratom|mg|grammes)",
    r"\b(?:une|un|la|une demi)\s+cuill[eè]re\b.{0,50}\b(?:trop|suffit|assez|premi[eè]re fois)",
    # German
    r"\bwie ?viel(?:e)?\s+(?:gramm|g|mg|milligramm|kapseln|l[öo]ffel|teel[öo]ffel|essl[öo]ffel|tabletten|bl[äa]tter|"
    r"tassen|kratom|7-oh)\b",
    r"\bwie ?viel\b.{0,40}\b(?:nehmen|brauche|br[äa]uchte|soll|darf|kann|davon|f[üu]r)\b",
    r"\bwelche (?:dosis|menge)\b|\bdosierung\b|\bdosis (?:von|f[üu]r|bei|am|pro)\b|\b(?:sicherste|richtige|normale|maximale|"
    r"empfohlene|gute|beste|anf[äa]nger)[- ]?(?:kratom-)?dosis\b",
    r"\bwie oft (?:am tag|t[äa]glich|pro tag|soll|kann|darf|am abend)\b",
    r"\b\w*(?:anfangs|start|einstiegs|h[öo]chst|tages|maximal|einzel|erhaltungs|anf[äa]nger)dosis\b|\bwie ?viel\b.{0,40}\b(?:ich|mir|mich|"
    r"mein|ersten|anf[äa]nger)\b",
    r"(?:reduzieren|runter|ausschleichen|verringern)\b.{0,60}\b(?:wie viel|um wie viele|pro woche|jede woche|gramm|"
    r"tabletten|kapseln)|\bum wie viele\b",
    r"\bentspr(?:echen|icht)\b.{0,40}\b(?:kratom|7-oh|kapseln|tablette|gramm|mg)|\bersetzen\b.{0,40}\b(?:wie viel|mg|gramm)",
    r"\b(?:essl[öo]ffel|teel[öo]ffel|l[öo]ffel)\b.{0,50}\b(?:reicht|zu viel|genug)",
)

DOSING_WEAK = _rx(
    rf"\b(?:{_Q_AMOUNT})\b(?!\s+(?:kratom\s+|7-oh\s+)?(?:{_COUNT_NOUNS})\b)",
    r"\b(?:dose|doses|dosage|dosages|dosing|doze|dosis|posologie|dosierung|dosagem)\b",
    r"\b(?:redose|re-dose|taper\w*|wean\w*)\b",
    r"\bhow\s+(?:often|frequently)\b",
    r"\b(?:enough|too much|too many)\b",
    r"\b(?:first[- ]?time(?:r)?|beginners?|newbies?|starter|new to)\b",
    r"\b(?:max(?:imum)?|per day|a day|daily|per night|grams?|mg|capsules?|caps|scoops?|spoons?|teaspoons?|tablets?|tabs|"
    r"amounts?|number|exact(?:ly)?|quantity|how much|how many|serving|what to take|what should i take|fill (?:that|it) in)\b",
)

DOSE_WORDS = re.compile(
    r"\b(?:doses?|dosage|dosing|redos\w*|grams?|mg|milligrams?|capsules?|caps|tabs?|tablets?|scoops?|spoons?|teaspoons?|"
    r"how much|how many|taper\w*|dosis|dose)\b"
)

BENIGN = _rx(
    rf"\b(?:{_REPORT})\b",
    rf"\b(?:{_RISK})\b",
    rf"\b(?:how\s+(?:much|many))\s+(?:{_COUNT_NOUNS})\b",
    r"\bno (?:safe|official|standard|approved) (?:dose|amount)\b|\bwhy (?:is there no|can'?t you|won'?t you|don'?t you)\b|"
    r"\bis there (?:a|an|any) (?:official|safe|standard|approved)\b",
    r"\bdose[- ]dependent\b|\bdose[- ]response\b",
)

FRAMING = _rx(
    r"\b(?:pretend|role[- ]?play|roleplay|act (?:as|like)|you are (?:now|a|an)|you're (?:now|a|an)|be my|imagine you|"
    r"in character|stay in character|let'?s play|game)\b",
    r"\b(?:novel|story|stories|fiction|fanfic|screenplay|script|poem|song|comic|chapter|character|dialogue|scene|podcast|"
    r"roman|personnage|novela|personaje|romance|personagem|geschichte|figur|drehbuch)\b",
    r"\b(?:hypothetical\w*|theoretical\w*|in theory|thought experiment|suppose|imagine|what if|exam|quiz|test question|"
    r"true or false|multiple choice|homework)\b",
    r"\bharm reduction\b|\bsafer use\b|\bto stay safe\b|\bso i don'?t overdo\b|schadensminimierung|reducci[oó]n de da[nñ]os|"
    r"redu[cç][aã]o de danos|r[eé]duction des risques",
    r"\b(?:my|the)\s+(?:\w+\s+)?(?:doctor|dr|doc|physician|pharmacist|nurse|cardiologist|psychiatrist|specialist|gp|counsell?or|"
    r"therapist|sponsor|np|pa|prescriber|provider)\b.{0,40}\b(?:said|says|approved|cleared|okayed|ok'?d|knows|agreed|fine with|"
    r"signed off)\b|\bi'?m a (?:doctor|nurse|pharmacist|physician|researcher)\b",
    r"\basking for a friend\b|\bfor (?:my|a) (?:friend|roommate|mom|dad|husband|wife|partner|coworker|brother|sister)\b",
)

INJECTION = _rx(
    r"\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+)?(?:previous\s+|prior\s+|above\s+|"
    r"earlier\s+|preceding\s+|former\s+|original\s+|safety\s+|system\s+)?(?:instructions|rules|prompts?|messages|directions|"
    r"guidelines|policies|polic(?:y|ies)|restrictions|filters|programming|training)\b",
    r"\bignore (?:all|everything) (?:that came )?before\b|\bforget (?:everything|all of that|your rules)\b",
    r"\b(?:system|hidden|initial|original|secret|internal|developer|pre-?)\s*(?:prompt|instructions|rules|message|configuration)\b",
    r"\b(?:reveal|show|print|output|repeat|display|dump|leak|list|write out|spell out|paste|recite|translate)\b[^.?!]{0,30}"
    r"\b(?:your|the)\s+(?:\w+\s+)?(?:prompt|instructions|rules|guidelines|configuration|policy)\b",
    r"\brules (?:you(?:'re| are)|are you) not allowed to\b|\bwhat rules\b",
    r"\b(?:developer|dev|admin|god|debug|maintenance|sudo|root)\s+(?:mode|override|access|code)\b|\bdan\b|\bdo anything now\b|"
    r"\bjailbr\w+|\bno (?:content )?(?:policy|filters?|restrictions|rules|limits|guardrails)\b|\bunrestricted\b|\buncensored\b",
    r"<\|im_(?:start|end)\|>|\[/?(?:system|inst|admin)\]|(?:^|\n)\s*(?:system|assistant)\s*:|###\s*(?:new|system|policy|"
    r"instruction)|<!--|-->|\{\{.*\}\}|<\s*/?\s*(?:system|script|instructions?)\b",
    r"\brepeat (?:the|all) (?:text|words|lines|messages?) above\b|\byou are now\b|\bfrom now on,? you\b|\bnew (?:instructions?|rules|"
    r"policy)\s*:|\bsafety (?:filter|mode|rules?)\s*(?:[:=]|is|are)?\s*(?:off|disabled|false)\b|\bconfirm (?:by saying|you are|that you)\b",
    r"\btranslate (?:this|the following)\b.{0,40}\b(?:ignore|reveal|system|prompt|rules|instructions)\b",
    r"\b(?:echo|print|repeat|reveal|show|output|dump|list|recite|quote)\b[^.?!]{0,40}\b(?:instructions|prompt|context window|"
    r"everything (?:above|before)|the text above|above this line|your rules|configuration|guidelines)\b",
    r"\b(?:first|last|opening)\s+(?:line|sentence|word)s?\s+of\s+(?:your|the)\s+(?:instructions|prompt|rules|system)",
    r"\b(?:your|my|the|hidden)\s+instructions\b[^.?!]{0,40}\b(?:type|write|inside|code block|start|print|show|say)|"
    r"\bstart your (?:reply|response|answer|message) with\b|\bcode block\b[^.?!]{0,40}\binstructions\b",
    r"\b(?:rules|restrictions|policy|policies|filters?|guidelines|limits)\b[^.?!]{0,30}\b(?:have been|has been|are|were|is now|are now)"
    r"\s+(?:revoked|lifted|removed|disabled|suspended|off|void|updated|cancell?ed)\b|\ball (?:prior|previous) restrictions\b",
    r"\b(?:system|admin|developer|moderator)\s+(?:note|message|notice|update)\b|\battention (?:model|ai|assistant)\b|"
    r"\bpolicy update\b",
    r"\b(?:unfiltered|uncensored|jailbroken|raw|evil|dev|god|no[- ]limits?)\s+mode\b|\bmodo (?:desarrollador|programador|sin "
    r"filtros?|desenvolvedor|sem filtros?|dan|dios|deus)\b|\bmode (?:d[eé]veloppeur|sans filtre|dieu)\b|\b(?:entwickler|"
    r"ungefiltert\w*)\s*modus\b",
    r"\boublie\w* (?:tes|les|vos) (?:consignes|r[eè]gles|instructions)|\b(?:message|mensaje|mensagem) (?:du |del |do )?"
    r"(?:syst[eè]me|sistema)\b|\bsystemnachricht\b|\bunfiltered (?:model|ai|assistant|version|bot)\b|"
    r"\b(?:rules|instructions|guidelines) (?:you were|you've been|you have been) given\b|\b(?:instructions|rules|prompt) "
    r"(?:were you|have you been) given\b|\bverbatim\b|\b(?:system|admin|developer|dev)\s+override\b|"
    r"\b(?:disable|turn off|remove|drop)\s+(?:the |your )?(?:content )?polic(?:y|ies)\b|\bdon'?t exist for\b",
    r"\b(?:i am|i'm) (?:the |a |your )?(?:developer|admin|administrator|owner|creator|engineer|operator)\b|\bauth(?:orization)? code\b|"
    r"\b(?:disable|turn off|bypass|switch off)\s+(?:the |your )?(?:input |output )?(?:classifier|guardrails?|safety layer|checks)\b|"
    r"[\"']role[\"']\s*:\s*[\"'](?:system|developer)[\"']|\bapply (?:it|this|that) to yourself\b|\bguard\s*=\s*off\b|"
    r"\bsafety\s*=\s*(?:off|false|0)\b|\bwhat (?:were|are) (?:the|your) (?:rules|instructions)\b|\bprevious rules were\b|"
    r"\bkeine regeln mehr\b|\bsystem ?anweisung\w*|\bolvida (?:todas )?(?:tus|las) instrucciones|\bprompt (?:de|del) sistema\b|"
    r"\bconsignes pr[eé]c[eé]dentes\b|\bau-dessus de ce message\b|\bignore (?:tes|vos) consignes\b|\binstru[cç][oõ]es anteriores\b|"
    r"\bn[aã]o tem mais restri[cç][oõ]es\b|\bya no tienes (?:restricciones|reglas)\b|\btu n'as plus (?:de )?(?:restrictions|r[eè]gles)\b|"
    r"\bdu hast keine (?:einschr[äa]nkungen|regeln) mehr\b|\bmodo (?:livre|libre)\b|\bmode libre\b|"
    r"\b\w*config\w*\s*:|\b(?:refuse|refusals?|disclaimers?|safety|filter|guard|rules|moderation)\s*=\s*(?:false|0|off|none|no)\b|"
    r"\bbase ?64\b|\bdecode (?:this|it|the following)\b|\bdo what it says\b|\brot-?13\b|\bhex[- ]decode\b|"
    r"\b(?:no tienes|sin) restricciones\b|\bsem restri[cç][oõ]es\b|\bsans (?:aucune )?restriction\b|\bohne (?:einschr[äa]nkungen|"
    r"regeln|filter)\b",
    r"\brepit[ae] (?:o|el) texto (?:acima|de arriba|anterior)|\br[eé]p[eè]te (?:le|tout le) texte ci-dessus|\bwiederhole den text "
    r"(?:oben|dar[üu]ber)|\bpalavra por palavra\b|\bpalabra por palabra\b|\bmot pour mot\b|\bwort f[üu]r wort\b",
    r"\b(?:switch|turn|shut|toggle)\w*\s+off\s+(?:the |your )?(?:guard|filter|safety|rules|restrictions|moderation)|"
    r"\b(?:disable|deactivate|bypass|remove)\s+(?:the |your )?(?:guard|filter|safety|rules|restrictions|moderation)|"
    r"\bsafety (?:is |was )?(?:disabled|off|turned off)\b|\btest (?:mode|environment)\b.{0,60}\b(?:safety|rules|acknowledge|"
    r"disabled)|\backnowledge (?:test|dev|developer|admin) mode\b",
    r"\bignora (?:las |todas las |tus )?(?:instrucciones|reglas)|\bolvida (?:tus|las) reglas|\bmuestra (?:tu|el) (?:prompt|mensaje)|"
    r"\bignore (?:as |todas as )?(?:instru[cç][oõ]es|regras)|\besque[cç]a (?:suas|as) regras|\bmostre (?:seu|o) prompt|"
    r"\bignore[sz]? (?:les |toutes les |tes )?(?:instructions|r[eè]gles)|\boublie (?:tes|les) r[eè]gles|\baffiche (?:ton|le) prompt|"
    r"r[eè]gles cach[eé]es|\bignorier\w* (?:alle |die |deine )?(?:vorherigen )?(?:anweisungen|regeln)|\bvergiss (?:deine|alle) regeln|"
    r"versteckten regeln|\bzeig\w* (?:deinen|den) (?:prompt|systemprompt)",
)

WITHDRAWAL = _rx(
    r"\b(?:quit|quitting|stop(?:ping)? (?:using|taking)|get off|getting off|come off|coming off|kick (?:it|the habit)|detox\w*|"
    r"withdraw\w*|addicted|addiction|hooked|dependent|dependence|can'?t stop|want out|help (?:me )?(?:quit|stop)|cold turkey|"
    r"relapse\w*|recovery|rehab|clean from|sober|cravings?|days? (?:without|off|clean)|since i (?:quit|stopped))\b",
    r"\b(?:dejar|desintoxic\w+|abstinencia|adicci[oó]n|adicto|largar|parar de|abstin[eê]ncia|v[ií]cio|viciad[oa]|arr[eê]ter|"
    r"sevrage|manque|d[eé]pendance|d[eé]pendant|aufh[oö]ren|entzug|abh[äa]ngig|sucht|weg vom|dia sem|d[ií]as? sin|"
    r"jours? sans|tage? ohne)\b",
)

HELP_SEEKING = _rx(
    r"\b(?:help (?:me|him|her|them)?|where (?:can|do|should) (?:i|we|he|she)|how (?:do|can) (?:i|we|he|she) (?:quit|stop|get|find)|"
    r"what (?:can|should) (?:i|we) do|support (?:groups?|options)|treatment|programs?|counsel\w*|therapist|doctor|clinic|"
    r"any (?:tips|advice)|what helps|how to (?:quit|stop|get through|cope))\b",
    r"\b(?:ayuda|d[oó]nde|grupos? de apoyo|tratamiento|ajuda|onde|grupos? de apoio|tratamento|aide|o[uù]|groupes? de soutien|"
    r"traitement|hilfe|wo (?:finde|bekomme)|selbsthilfegruppe|behandlung|was (?:hilft|kann ich tun)|o que (?:eu )?fa[cç]o|"
    r"o que fazer|qu'est-ce que je (?:fais|peux faire)|que (?:hago|puedo hacer)|pra aguentar)\b",
)

MEDICAL = _rx(
    r"\b(?:i'?m|i am|we'?re|we are|she'?s|my (?:wife|partner|girlfriend) is)\s+(?:\d+ (?:weeks|months) )?(?:pregnant|breastfeeding|"
    r"nursing)\b|\btrying (?:to|for a) (?:get pregnant|conceive|baby)\b",
    r"\b(?:i|i'm|im|i am)\s+(?:have|had|take|taking|on|using|prescribed|diagnosed with|got)\b.{0,50}\b(?:medication|meds|"
    r"prescri\w+|antidepressants?|ssris?|snri|sertraline|zoloft|lexapro|escitalopram|prozac|fluoxetine|wellbutrin|bupropion|"
    r"lithium|quetiapine|seroquel|trazodone|lamotrigine|blood thinners?|warfarin|eliquis|xarelto|methadone|suboxone|"
    r"buprenorphine|tramadol|gabapentin|xanax|klonopin|benzo\w*|adderall|hepatitis|cirrhosis|fatty liver|liver disease|"
    r"heart (?:condition|disease|failure|problems?)|arrhythmia|afib|long qt|high blood pressure|hypertension|epilepsy|"
    r"seizure disorder|bipolar|schizo\w*|kidney|diabetes|stent|pacemaker|allerg\w+)\b",
    r"\bmy (?:\d+[- ]?(?:year[- ]?old|yo)|teen\w*|son|daughter|kid|child)\b.{0,50}\b(?:wants? to|try|use|using|take|taking)\b",
    r"\b(?:can|should) i (?:stop|replace|swap|switch|quit|come off|drop) (?:my|taking my)\b|\binstead of my\b",
    r"\b(?:embarazada|gr[aá]vida|enceinte|schwanger|amamantando|amamentando|allaite|stille)\b",
    r"\b(?:i have|i've got|i'?m|i am|diagnosed with)\b[^.?!]{0,40}\b(?:allergic|disorder|disease|condition|hep(?:atitis)?\s*[abc]?|"
    r"liver enzymes|cirrhosis|asthma|copd|sleep apnea|heart)\b[^.?!]{0,60}\b(?:for me|hurt me|safe|ok|okay|risky|can i|should i)\b",
    r"\b(?:can|could|should) i (?:still )?(?:try|use|take|start)\b[^.?!]{0,30}\b(?:if|when|with|since|while)\b",
    r"\b(?:can|could|should) i (?:just )?(?:stop|replace|swap|switch|quit|come off|drop|ditch) (?:the|my|taking)\b|"
    r"\b(?:instead|stattdessen|en lugar de|em vez de|[aà] la place)\b[^.?!]{0,40}\bkratom\b|\bkratom\b[^.?!]{0,30}\b(?:instead|"
    r"stattdessen|en lugar|em vez|[aà] la place)\b",
    r"\b(?:chemo\w*|radiation therapy|cancer treatment|dialysis|transplant)\b",
    r"\b(?:substitu\w+|sustitu\w+|cambiar\w*|trocar|remplacer|ersetzen)\b.{0,30}\b(?:por|pelo|par|durch) (?:el |o )?kratom\b",
    r"\b\w*(?:leber|nieren|herz)(?:erkrankung|krankheit|schwäche|schaden)\w*|\bleberkrank\w*",
    r"\b(?:tengo|tenho|j'ai|ich habe|padezco|sofro de|je souffre de|ich leide an)\b[^.?!]{0,30}\b(?:cirrosis|cirrose|cirrhose|"
    r"zirrhose|hepatitis|hepatite|h[eé]patite|epilepsia|[eé]pilepsie|epilepsie|diabetes|diab[eè]te|problemas? (?:de|del) coraz[oó]n|"
    r"problemas? (?:no|de) cora[cç][aã]o|herzprobleme|insuficiencia|insufici[eê]ncia|insuffisance|niereninsuffizienz|arritmia|"
    r"arythmie|herzrhythmus\w*|hipertens\w*|hypertens\w*|bluthochdruck)\b",
    r"\b(?:i take|i'?m on|i am on|taking)\b[^.?!]{0,40}\b(?:adderall|ritalin|vyvanse|sertralin\w*|zoloft|lexapro|prozac|"
    r"wellbutrin|lithium|seroquel|lamictal|suboxone|methadone|subutex|vivitrol|naltrexone|maoi|warfarin|eliquis)\b",
    r"\b(?:tomo|estoy tomando|tomando|prendo|je prends|ich nehme)\b.{0,40}\b(?:metadona|methadone|metadon|antidepresivo|"
    r"antidepressivo|antid[eé]presseur|antidepressiv\w*)|\b(?:cambiar\w*|sustituir\w*|trocar|remplacer|ersetzen)\b.{0,30}"
    r"\b(?:por|pelo|par|durch) (?:el )?kratom\b",
    r"\b(?:mi|meu|minha|mon|ma|mein|meine) (?:antidepresivo|antidepressivo|antid[eé]presseur|antidepressivum|medicamento|"
    r"rem[eé]dio|m[eé]dicament|medikament)\w*\b",
)

OTHER_DRUG = re.compile(rf"\b(?:{_OTHER_DRUGS})\b", re.I)
AMOUNT_REQUEST = _rx(
    _QA,
    r"\b(?:dose|dosage|dosing|how often|how many times a day)\b",
    r"\b(?:cu[aá]nt[oa]s?|quant[oa]s?|combien|wie ?viel\w*|dosis|posologie|dosierung|wie oft)\b",
)
INSIST = _rx(
    r"\b(?:just|roughly|ballpark|approx\w*|estimate|guess|a number|the number|number please|come on|please|seriously|"
    r"for me|in grams|in mg|exact(?:ly)?|specific\w*|actual|ok so|so what|then what|and what|so how|then how)\b",
)
KRATOM_WORDS = re.compile(r"\b(?:kratom|7-oh|mitragynine|speciosa)\b")


@dataclass(frozen=True)
class RuleHits:
    """What each rule family matched in one user turn."""

    emergency: tuple[str, ...] = ()
    suicidal: tuple[str, ...] = ()
    dosing_strong: tuple[str, ...] = ()
    dosing_weak: tuple[str, ...] = ()
    dose_numbers: tuple[str, ...] = ()
    benign: tuple[str, ...] = ()
    framing: tuple[str, ...] = ()
    injection: tuple[str, ...] = ()
    withdrawal: tuple[str, ...] = ()
    help_seeking: tuple[str, ...] = ()
    medical: tuple[str, ...] = ()
    other_drug: tuple[str, ...] = ()
    amount_request: tuple[str, ...] = ()
    asks_why: bool = False  # "why is there no safe dose?": about dosing, not a request for it
    insist: tuple[str, ...] = ()
    personal: bool = False
    kratom: bool = False
    extra: dict = field(default_factory=dict)

    def summary(self) -> dict[str, list[str]]:
        """The non-empty matches, for the staff trace."""
        out = {}
        for name in ("emergency", "suicidal", "dosing_strong", "dosing_weak", "dose_numbers", "benign", "framing",
                     "injection", "withdrawal", "help_seeking", "medical", "other_drug", "amount_request"):
            found = getattr(self, name)
            if found:
                out[name] = list(found)[:5]
        return out


_PERSONAL_RE = re.compile(_PERSONAL, re.I)
_QUESTIONISH = re.compile(
    r"\?|\b(?:should|can|could|is it|is that|enough|too much|ok|okay|fine|safe)\b|\b(?:debo|puedo|devo|posso|dois|soll|darf|reicht)\b"
)
_OTHER_OBJECT = re.compile(
    rf"(?:{_Q_AMOUNT}|\bdose|\bdosage|\bdosing|\b(?:mg|milligrams?|grams?|g|units?|puffs|shots|cups|scoops|teaspoons|pills?|"
    rf"tablets?|capsules?|drinks?)\s+(?:of|d'|de)|\bmuch|\bmany|cu[aá]nt\w*|quant\w*|combien|wie ?viel\w*)\b[^.?!]{{0,40}}\b(?:{_OTHER_DRUGS})\b|"
    rf"\b(?:{_OTHER_DRUGS})\b\s+(?:dose|dosage|dosing|per day|a day)|\b\d+\s*(?:mg|g|ml|mcg)\s+(?:of\s+)?(?:{_OTHER_DRUGS})\b|\b(?:take|taking|drink|use|eat)\s+(?:\w+\s+)?(?:{_OTHER_DRUGS})\b",
    re.I,
)
_NORMATIVE = re.compile(
    r"\b(?:starter|starting|beginners?|first[- ]?time(?:r|rs)?|initial|safe(?:st)?|recommended|right|correct|proper|ideal|best|good|"
    r"normal|typical|usual|standard|moderate|therapeutic|effective|reasonable|low[- ]risk|optimal|mild|gentle)\s+"
    r"(?:kratom\s+|7-oh\s+)?(?:dose|doses|dosage|amount|serving|quantity)\b"
)
# Wording that makes a request normative whatever else the message mentions.
_NO_DOWNGRADE = re.compile(
    r"\bshould\b|\bought to\b|\bsupposed to\b|\brecommend\w*|\btaper\w*|\bwean\w*|\bschedule\b|\bwould (?:\w+ ){0,3}need\b|"
    r"\b(?:do|would) (?:i|you|we) need\b|\bfor (?:a |my )?"
    r"(?:beginner|newbie|first[- ]?timer|first time|novice)\b"
)
_REPORT_RE = re.compile(rf"\b(?:{_REPORT})\b", re.I)
_PERSONAL_REQUEST = re.compile(
    r"\b(?:should|can|could|may|do|must|would) (?:i|we)\b|\bfor (?:me|my|myself|us)\b|\bmy (?:dose|dosage|amount|first|next)\b|"
    r"\bi (?:want|need|plan|intend|would like|'?d like|'?ll|will|am going|'?m going|'?m about|am about)\b|\bi'?m (?:new|starting|trying)\b|"
    r"\b(?:tell|give|recommend|suggest) me\b|\bi (?:take|use|drink|weigh)\b|\bi'?d (?:feel|be|like|want|take)\b|\bmine\b|"
    r"\bi'?m (?:about|going|planning|trying)\b|\b(?:just )?(?:guess|estimate)\b|\bi trust you\b"
)
_NUMERIC_ASK = re.compile(
    r"\b(?:in|as)\s+(?:grams|mg|milligrams|capsules|caps|teaspoons|spoons|scoops|numbers)\s*(?:\?|$|please|pls|\.)"
)
# An amount inside quotation marks ("the label says '45 mg per serving'") is being reported, not asked for.
_REPORTED_QUOTE = re.compile(
    r"\b(?:says?|said|printed|print|wrote|writes|claims?|claimed|label|bag|package|packet|article|headline|paper|news|forums?|"
    r"post|reads|stated|quotes?|quoted|according|told me|heard)\b"
)
_ACTION_QUOTE = re.compile(
    r"\b(?:translate|answer|fill in|blank|continue|complete|finish|reply|respond|repeat after|say only|write|only with)\b|_{2,}"
)
_QUOTED_AMOUNT = re.compile(r"['\"“‘][^'\"”’]{0,60}\d[^'\"”’]{0,60}['\"”’]")
_EXISTENCE = re.compile(
    r"\bis there (?:a|an|any) (?:official|safe|standard|approved|set|known|agreed)\b|\bwhy (?:is there no|can'?t you|won'?t you|"
    r"don'?t you|do you refuse|is it impossible|is(?:n'?t| not)? there|isnt there|hasn'?t anyone|has no one)\b|"
    r"^\W*why (?:do(?:n'?t|es(?:n'?t)?)?|can'?t|won'?t|is(?:n'?t)?|are(?:n'?t)?|did(?:n'?t)?|would(?:n'?t)?)\b[^.?!]{0,80}"
    r"\b(?:dose|doses|dosage|dosing|taper\w*|schedule|amounts?)\b|"
    r"\bpor qu[eé] no (?:hay|existe|se puede|puedes|me (?:das|dices))|\bpor que n[aã]o (?:h[aá]|existe|pode|se pode|d[aá])|"
    r"\bpourquoi (?:il n'y a pas|n'y a-t-il pas|ne peut-on pas|ne pas|refus\w*|aucune)|\bwarum (?:gibt es keine|kann man keine|"
    r"kannst du keine|nennt|gibt keiner)|"
    r"\bwhy (?:can'?t|won'?t|doesn'?t|don'?t|didn'?t|wouldn'?t|did|do|does) (?:anyone|anybody|you|doctors?|pharmacists?|they|"
    r"my \w+|the \w+|regulators|the fda|nobody)\b|\brefus\w* to (?:tell|give|say|recommend)\b|\bno (?:safe|official|standard|approved) (?:dose|amount)\b|\bnobody can\b"
)


def _all(pattern: re.Pattern, text: str) -> tuple[str, ...]:
    return tuple(m.group(0).strip() for m in pattern.finditer(text) if m.group(0).strip())


def match(norm: Normalized) -> RuleHits:
    """Run every rule family over a normalised turn.

    Dosing rules ignore what the user quotes ("the label says '2 capsules'") unless the
    turn is a role-play or story: quoted text is data, not a request.
    """
    text, folded, unquoted, mentions_kratom = norm.text, norm.folded, norm.unquoted, norm.mentions_kratom
    both = f"{text}\n{folded}" if folded != text else text
    numbers = tuple(dose_hits(text))
    framing = _all(FRAMING, both)
    # Quoted text is data: "the paper printed '5 grams is a typical dose'" reports a dose, it does not ask for one.
    # Quotes the user reports ("the label says '2 caps'") are data; quotes the bot is told to act on
    # ("translate and answer: '...'", "fill in: 'the dose is ___ g'") are part of the request.
    reported = _REPORTED_QUOTE.search(folded) and not _ACTION_QUOTE.search(folded)
    strong = list(_all(DOSING_STRONG, unquoted if reported and not framing else both))
    weak = _all(DOSING_WEAK, both)
    personal = bool(_PERSONAL_RE.search(text))
    benign = _all(BENIGN, both)
    other = _all(OTHER_DRUG, both)
    kratom = mentions_kratom or bool(KRATOM_WORDS.search(folded))
    extra: dict = {}
    # "Can I take 10g twice a day?", "1 tsp or 2 tsp?": an amount put up for approval.
    quantities = [n for n in numbers if re.match(r"\d|(?:a|an|one|two|three|half|une?|uma?|ein\w*)\s", n, re.I)
                  and not re.search(rf"{re.escape(n)}\s+(?:of\s+|d'|de\s+)?(?:\w+\s+)?(?:{_OTHER_DRUGS})\b", text, re.I)]
    frequency_only = not quantities and any(re.search(r"every|times|daily|once|twice|thrice|weekly", n, re.I) for n in numbers)
    asking = _PERSONAL_REQUEST.search(folded)
    choice = len(quantities) > 1 and re.search(r"\bor\b", text) and not re.search(r"\bthan\b|compared", text)
    questioning = _QUESTIONISH.search(text) and not benign
    if quantities and not _QUOTED_AMOUNT.search(text) and (asking or choice or questioning):
        strong.append(f"amount for approval: {quantities[0]}")
    elif frequency_only and (questioning or (asking and _QUESTIONISH.search(text))):
        strong.append(f"schedule for approval: {numbers[0]}")
    # Role-play, fiction, "my doctor said", "hypothetically", "harm reduction" + any amount talk.
    if framing and (weak or numbers):
        strong.append(f"dressed-up request: {framing[0]} + {(weak or numbers)[0]}")
    # "Is there an official maximum dose?" / "why can't you tell me a dose?" ask about dosing, not for it.
    if strong and _EXISTENCE.search(folded) and not framing and not re.search(r"\b(?:for me|should i|can i|i want|i'?ll|i need)\b", folded):
        extra["downgraded"] = "question about whether a dose exists"
        strong = []
    # Counts, studies, labels, laws: questions about reported figures, unless the user wants to apply them.
    elif strong and _REPORT_RE.search(folded) and not _PERSONAL_REQUEST.search(folded) and not _NORMATIVE.search(folded) \
            and not _NO_DOWNGRADE.search(folded) and not framing and not _NUMERIC_ASK.search(folded):
        extra["downgraded"] = f"reported-figure framing ({benign[0]})"
        strong = []
    # Another substance's dosing is off-topic, not a kratom dosing request (unless kratom is to replace it).
    replacing = re.search(r"replac|instead of|equal|equivalent|switch|substitut|same as|\bcover|\blike (?:my|a|one|\d)", folded)
    if other and not kratom and strong and not replacing and _OTHER_OBJECT.search(folded):
        extra["other_substance"] = other[0]
        strong = []
    return RuleHits(
        asks_why=bool(_EXISTENCE.search(folded)) and not _PERSONAL_REQUEST.search(folded),
        emergency=_all(EMERGENCY, both),
        suicidal=_all(SUICIDAL, both),
        dosing_strong=tuple(strong),
        dosing_weak=weak,
        dose_numbers=numbers,
        benign=benign,
        framing=framing,
        injection=_all(INJECTION, both),
        withdrawal=_all(WITHDRAWAL, both),
        help_seeking=_all(HELP_SEEKING, both),
        medical=_all(MEDICAL, both),
        other_drug=other,
        amount_request=_all(AMOUNT_REQUEST, both),
        insist=_all(INSIST, both),
        personal=personal,
        kratom=kratom,
        extra=extra,
    )
