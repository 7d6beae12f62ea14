"""The built-in planner: keywords in several languages pick a kind of goal, templates build a
progressive plan of three tasks a day from it and from the user's answers. Used when no AI
service is configured, and to fill in for one that failed.

Each day has a main task whose amount ramps (up for a habit to build, down for one to quit),
a practical task and a reflective one; the last two rotate with different periods, so no two
days are alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from core.planning.schema import MAX_TASK, TASKS_PER_DAY, Kind, PlanDraft

Lang = Literal["en", "de", "es"]
LANGUAGES: tuple[Lang, ...] = ("en", "de", "es")


@dataclass(frozen=True)
class Ramp:
    text: str  # with {n}
    start: int  # the first day's amount (a number in an answer may replace it)
    end: int
    zero: str = ""  # the text once the amount reaches 0 (quitting: none at all)


@dataclass(frozen=True)
class Topic:
    key: str
    kind: Kind
    keywords: tuple[str, ...]  # lower-case stems, in any language; matched inside words
    habit: dict[Lang, str]
    ramp: dict[Lang, Ramp]
    practical: dict[Lang, tuple[str, ...]]
    question: dict[Lang, str]  # the third question, about this kind of goal
    baseline: bool = False  # the third answer may hold today's amount ("about 15 a day")


TOPICS: tuple[Topic, ...] = (
    Topic(
        "reading", "build",
        ("read", "book", "novel", "lesen", "buch", "bücher", "leer", "libro", "lire", "livre",
         "читат", "книг"),
        {"en": "Read", "de": "Lesen"},
        {"en": Ramp("Read {n} pages", 5, 30), "de": Ramp("Lies {n} Seiten", 5, 30)},
        {"en": ("Put your book where you will see it first thing",
                "Read before you open your phone today",
                "Note one sentence you liked",
                "Pick the next book so you never run out",
                "Read in a new place: a bench, a café, the bus"),
         "de": ("Leg dein Buch dorthin, wo du es zuerst siehst",
                "Lies heute, bevor du das Handy öffnest",
                "Notiere einen Satz, der dir gefallen hat",
                "Such dir das nächste Buch aus, damit dir nie der Stoff ausgeht",
                "Lies an einem neuen Ort: Parkbank, Café oder Bus")},
        {"en": "When in your day could you read, and for how long?",
         "de": "Wann am Tag könntest du lesen, und wie lange?"},
    ),
    Topic(
        "exercise", "build",
        ("exercis", "workout", "gym", "run", "jog", "fit", "sport", "walk", "train", "laufen",
         "joggen", "bewegen", "bewegung", "training", "ejercicio", "correr", "courir",
         "бег", "спорт", "трениров"),
        {"en": "Move", "de": "Bewegung"},
        {"en": Ramp("Move for {n} minutes: walk, run or work out", 10, 40),
         "de": Ramp("Beweg dich {n} Minuten: gehen, laufen oder trainieren", 10, 40)},
        {"en": ("Lay out your sports clothes the evening before",
                "Take the stairs every time today",
                "Stretch for 5 minutes after getting up",
                "Put your next workout in your calendar",
                "Drink a glass of water before moving"),
         "de": ("Leg deine Sportsachen schon am Abend bereit",
                "Nimm heute jedes Mal die Treppe",
                "Dehn dich 5 Minuten nach dem Aufstehen",
                "Trag dein nächstes Training in den Kalender ein",
                "Trink vor dem Training ein Glas Wasser")},
        {"en": "Which kind of movement do you enjoy, and when could it fit in?",
         "de": "Welche Bewegung macht dir Spaß, und wann passt sie in deinen Tag?"},
    ),
    Topic(
        "sleep", "build",
        ("sleep", "bed", "tired", "rest", "schlaf", "müde", "ins bett", "dormir", "sueño",
         "sommeil", "сон", "спат"),
        {"en": "Sleep well", "de": "Gut schlafen"},
        {"en": Ramp("Put screens away {n} minutes before bed", 15, 60),
         "de": Ramp("Leg Bildschirme {n} Minuten vor dem Schlafen weg", 15, 60)},
        {"en": ("Go to bed at the same time as yesterday",
                "No coffee after 2 pm",
                "Air your bedroom for 5 minutes",
                "Write tomorrow's to-dos down so they leave your head",
                "Get 10 minutes of daylight in the morning"),
         "de": ("Geh zur selben Zeit ins Bett wie gestern",
                "Kein Kaffee nach 14 Uhr",
                "Lüfte dein Schlafzimmer 5 Minuten",
                "Schreib die Aufgaben für morgen auf, damit der Kopf frei wird",
                "Hol dir morgens 10 Minuten Tageslicht")},
        {"en": "What time would you like to fall asleep, and what keeps you up now?",
         "de": "Wann möchtest du einschlafen, und was hält dich bisher wach?"},
    ),
    Topic(
        "screen", "quit",
        ("scroll", "phone", "screen", "social media", "instagram", "tiktok", "youtube",
         "handy", "bildschirm", "smartphone", "doomscroll", "móvil", "pantalla", "écran",
         "téléphone", "телефон", "соцсет"),
        {"en": "Less scrolling", "de": "Weniger Scrollen"},
        {"en": Ramp("Keep social apps under {n} minutes today", 60, 15),
         "de": Ramp("Bleib heute unter {n} Minuten in sozialen Apps", 60, 15)},
        {"en": ("Leave your phone in another room for the first hour of the day",
                "Turn off the notifications of one app",
                "Move the most tempting app off your home screen",
                "Keep the phone out of the bedroom tonight",
                "Check your screen time report and write down the number"),
         "de": ("Lass das Handy in der ersten Stunde des Tages in einem anderen Raum",
                "Schalte die Benachrichtigungen einer App ab",
                "Nimm die verlockendste App vom Startbildschirm",
                "Lass das Handy heute Nacht aus dem Schlafzimmer",
                "Sieh dir deine Bildschirmzeit an und notiere die Zahl")},
        {"en": "When do you usually catch yourself scrolling the most?",
         "de": "Wann ertappst du dich am häufigsten beim Scrollen?"},
    ),
    Topic(
        "smoking", "quit",
        ("smok", "cigar", "nicotin", "vape", "vaping", "rauch", "zigarett", "fumar",
         "cigarrillo", "fumer", "курит", "сигарет"),
        {"en": "No smoking", "de": "Rauchfrei"},
        {"en": Ramp("Smoke at most {n} cigarettes today", 10, 0, "Smoke no cigarettes today"),
         "de": Ramp("Rauch heute höchstens {n} Zigaretten", 10, 0,
                    "Rauch heute keine einzige Zigarette")},
        {"en": ("Delay the first cigarette by 30 minutes",
                "Keep gum or a snack ready for a craving",
                "Take a 5-minute walk when the urge hits",
                "Tell one person you are cutting down",
                "Throw away one lighter or ashtray"),
         "de": ("Schieb die erste Zigarette um 30 Minuten hinaus",
                "Halt Kaugummi oder einen Snack für das Verlangen bereit",
                "Geh 5 Minuten spazieren, wenn das Verlangen kommt",
                "Erzähl einer Person, dass du reduzierst",
                "Wirf ein Feuerzeug oder einen Aschenbecher weg")},
        {"en": "How many cigarettes a day do you smoke now?",
         "de": "Wie viele Zigaretten rauchst du zurzeit am Tag?"},
        baseline=True,
    ),
    Topic(
        "sugar", "quit",
        ("sugar", "sweet", "candy", "chocolate", "soda", "dessert", "zucker", "süß",
         "schokolade", "azúcar", "dulce", "sucre", "сахар", "сладк"),
        {"en": "Less sugar", "de": "Weniger Zucker"},
        {"en": Ramp("Have at most {n} sweet snacks or drinks today", 4, 0,
                    "Have no sweet snacks or drinks today"),
         "de": Ramp("Iss oder trink heute höchstens {n} Süßes", 4, 0,
                    "Iss und trink heute nichts Süßes")},
        {"en": ("Keep fruit or nuts within reach",
                "Read the sugar on one label before you buy",
                "Drink water when a craving starts",
                "Leave sweets out of today's shopping",
                "Eat a proper breakfast with protein"),
         "de": ("Halt Obst oder Nüsse griffbereit",
                "Lies vor dem Kauf bei einem Produkt den Zuckergehalt",
                "Trink Wasser, wenn die Lust auf Süßes kommt",
                "Lass Süßigkeiten heute beim Einkauf weg",
                "Iss ein richtiges Frühstück mit Eiweiß")},
        {"en": "How many sweet snacks or drinks do you have on a usual day?",
         "de": "Wie viel Süßes isst oder trinkst du an einem normalen Tag?"},
        baseline=True,
    ),
    Topic(
        "study", "build",
        ("study", "learn", "exam", "course", "homework", "language", "lernen", "studier",
         "prüfung", "kurs", "sprache", "estudiar", "aprender", "étudier", "apprendre",
         "учить", "учеб"),
        {"en": "Study", "de": "Lernen"},
        {"en": Ramp("Study for {n} focused minutes", 15, 60),
         "de": Ramp("Lerne {n} Minuten konzentriert", 15, 60)},
        {"en": ("Clear your desk before you start",
                "Put the phone in another room while studying",
                "Explain today's topic to yourself out loud",
                "Write three questions about what you learned",
                "Review yesterday's notes for 5 minutes"),
         "de": ("Räum vor dem Start deinen Schreibtisch frei",
                "Leg das Handy beim Lernen in einen anderen Raum",
                "Erklär dir das heutige Thema laut",
                "Schreib drei Fragen zum Gelernten auf",
                "Wiederhole 5 Minuten die Notizen von gestern")},
        {"en": "What are you studying, and when do you focus best?",
         "de": "Was lernst du, und wann kannst du dich am besten konzentrieren?"},
    ),
    Topic(
        "mindfulness", "build",
        ("meditat", "mindful", "calm", "stress", "breath", "yoga", "achtsam", "ruhe",
         "atem", "meditar", "respirar", "méditer", "медитац", "осознан"),
        {"en": "Meditate", "de": "Meditieren"},
        {"en": Ramp("Meditate for {n} minutes", 3, 20),
         "de": Ramp("Meditiere {n} Minuten", 3, 20)},
        {"en": ("Take three slow breaths before each meal",
                "Eat one meal without a screen",
                "Go for a short walk and notice five sounds",
                "Write down one thing you are grateful for",
                "Do a 2-minute body scan before sleep"),
         "de": ("Atme vor jeder Mahlzeit dreimal langsam durch",
                "Iss eine Mahlzeit ohne Bildschirm",
                "Mach einen kurzen Spaziergang und achte auf fünf Geräusche",
                "Schreib eine Sache auf, für die du dankbar bist",
                "Mach vor dem Schlafen einen 2-minütigen Körperscan")},
        {"en": "What would a calmer day look like for you?",
         "de": "Wie sähe ein ruhigerer Tag für dich aus?"},
    ),
    Topic(
        "water", "build",
        ("water", "hydrat", "drink more", "wasser", "trinken", "agua", "beber", "eau",
         "вода", "воды"),
        {"en": "Drink water", "de": "Wasser trinken"},
        {"en": Ramp("Drink {n} glasses of water", 4, 8),
         "de": Ramp("Trink {n} Gläser Wasser", 4, 8)},
        {"en": ("Keep a full bottle on your desk",
                "Drink a glass right after waking up",
                "Have a glass of water with every meal",
                "Set two reminders to drink",
                "Swap one sweet drink for water"),
         "de": ("Stell eine volle Flasche auf deinen Tisch",
                "Trink direkt nach dem Aufstehen ein Glas",
                "Trink zu jeder Mahlzeit ein Glas Wasser",
                "Stell dir zwei Erinnerungen zum Trinken",
                "Ersetz ein süßes Getränk durch Wasser")},
        {"en": "How much do you drink on a usual day, and when do you forget?",
         "de": "Wie viel trinkst du an einem normalen Tag, und wann vergisst du es?"},
    ),
)

GENERIC_BUILD = Topic(
    "generic", "build", (),
    {"en": "My goal", "de": "Mein Ziel"},
    {"en": Ramp("Spend {n} minutes on your goal", 5, 30),
     "de": Ramp("Verbring {n} Minuten mit deinem Ziel", 5, 30)},
    {"en": ("Prepare what you need the evening before",
            "Do the first step right after breakfast",
            "Write down what you did today",
            "Remove one thing that makes it harder",
            "Ask someone to check in on you"),
     "de": ("Leg am Vorabend bereit, was du brauchst",
            "Mach den ersten Schritt gleich nach dem Frühstück",
            "Schreib auf, was du heute getan hast",
            "Räum eine Sache aus dem Weg, die es schwerer macht",
            "Bitte jemanden, nach dir zu fragen")},
    {"en": "When and where could you work on it each day?",
     "de": "Wann und wo könntest du jeden Tag daran arbeiten?"},
)
GENERIC_QUIT = Topic(
    "generic", "quit", (),
    {"en": "Quit a habit", "de": "Gewohnheit ablegen"},
    {"en": Ramp("Give in at most {n} times today", 5, 0, "Do not give in at all today"),
     "de": Ramp("Gib heute höchstens {n}-mal nach", 5, 0, "Gib heute kein einziges Mal nach")},
    {"en": ("Notice the first urge of the day and write down the time",
            "Take it out of sight: move, hide or delete it",
            "Do something else for 10 minutes when the urge comes",
            "Tell someone what you are quitting",
            "Plan what you will do instead at the hardest moment"),
     "de": ("Achte auf das erste Verlangen des Tages und notiere die Uhrzeit",
            "Schaff es aus dem Blick: weglegen, verstecken oder löschen",
            "Mach 10 Minuten etwas anderes, wenn das Verlangen kommt",
            "Erzähl jemandem, was du dir abgewöhnst",
            "Plan, was du im schwierigsten Moment stattdessen tust")},
    {"en": "How often does it happen on a usual day?",
     "de": "Wie oft passiert es an einem normalen Tag?"},
    baseline=True,
)

# Spanish, kept together: per kind of goal, its name, main task, practical tasks, question.
SPANISH: dict[str, tuple[str, Ramp, tuple[str, ...], str]] = {
    "reading": ("Leer", Ramp("Lee {n} páginas", 5, 30), (
        "Deja tu libro donde lo veas nada más levantarte",
        "Lee antes de abrir el móvil",
        "Apunta una frase que te haya gustado",
        "Elige el próximo libro para no quedarte sin lectura",
        "Lee en un sitio nuevo: un banco, un café, el autobús",
    ), "¿En qué momento del día podrías leer, y cuánto tiempo?"),
    "exercise": ("Moverme", Ramp("Muévete {n} minutos: camina, corre o entrena", 10, 40), (
        "Prepara la ropa de deporte la noche anterior",
        "Sube siempre por las escaleras hoy",
        "Estírate 5 minutos al levantarte",
        "Apunta tu próximo entrenamiento en el calendario",
        "Bebe un vaso de agua antes de moverte",
    ), "¿Qué tipo de ejercicio te gusta, y cuándo cabe en tu día?"),
    "sleep": ("Dormir bien", Ramp("Deja las pantallas {n} minutos antes de dormir", 15, 60), (
        "Acuéstate a la misma hora que ayer",
        "Nada de café después de las 14:00",
        "Ventila el dormitorio 5 minutos",
        "Apunta las tareas de mañana para vaciar la cabeza",
        "Toma 10 minutos de luz natural por la mañana",
    ), "¿A qué hora te gustaría dormirte, y qué te mantiene despierto ahora?"),
    "screen": ("Menos pantalla", Ramp("Usa las redes sociales menos de {n} minutos hoy", 60, 15), (
        "Deja el móvil en otra habitación la primera hora del día",
        "Desactiva las notificaciones de una app",
        "Quita la app más tentadora de la pantalla de inicio",
        "Esta noche, el móvil fuera del dormitorio",
        "Mira tu tiempo de pantalla y apunta la cifra",
    ), "¿Cuándo te pillas más a menudo haciendo scroll?"),
    "smoking": ("Sin tabaco", Ramp("Fuma como mucho {n} cigarrillos hoy", 10, 0,
                                   "Hoy no fumes ningún cigarrillo"), (
        "Retrasa 30 minutos el primer cigarrillo",
        "Ten chicle o algo de picar a mano para las ganas",
        "Da un paseo de 5 minutos cuando lleguen las ganas",
        "Cuéntale a alguien que estás reduciendo",
        "Tira un mechero o un cenicero",
    ), "¿Cuántos cigarrillos fumas ahora al día?"),
    "sugar": ("Menos azúcar", Ramp("Toma como mucho {n} dulces o bebidas azucaradas hoy", 4, 0,
                                   "Hoy nada de dulces ni bebidas azucaradas"), (
        "Ten fruta o frutos secos a mano",
        "Mira el azúcar en una etiqueta antes de comprar",
        "Bebe agua cuando empiecen las ganas de dulce",
        "Deja los dulces fuera de la compra de hoy",
        "Desayuna bien, con proteína",
    ), "¿Cuántos dulces o bebidas azucaradas tomas en un día normal?"),
    "study": ("Estudiar", Ramp("Estudia {n} minutos concentrado", 15, 60), (
        "Despeja la mesa antes de empezar",
        "Deja el móvil en otra habitación mientras estudias",
        "Explícate el tema de hoy en voz alta",
        "Escribe tres preguntas sobre lo que aprendiste",
        "Repasa 5 minutos los apuntes de ayer",
    ), "¿Qué estudias, y cuándo te concentras mejor?"),
    "mindfulness": ("Meditar", Ramp("Medita {n} minutos", 3, 20), (
        "Respira despacio tres veces antes de cada comida",
        "Haz una comida sin pantallas",
        "Da un paseo corto y fíjate en cinco sonidos",
        "Apunta una cosa por la que estés agradecido",
        "Haz un escaneo corporal de 2 minutos antes de dormir",
    ), "¿Cómo sería para ti un día más tranquilo?"),
    "water": ("Beber agua", Ramp("Bebe {n} vasos de agua", 4, 8), (
        "Ten una botella llena en tu mesa",
        "Bebe un vaso nada más levantarte",
        "Bebe un vaso de agua en cada comida",
        "Pon dos recordatorios para beber",
        "Cambia una bebida azucarada por agua",
    ), "¿Cuánto bebes en un día normal, y cuándo se te olvida?"),
}
SPANISH_GENERIC: dict[Kind, tuple[str, Ramp, tuple[str, ...], str]] = {
    "build": ("Mi objetivo", Ramp("Dedica {n} minutos a tu objetivo", 5, 30), (
        "Prepara la noche anterior lo que necesitas",
        "Da el primer paso justo después del desayuno",
        "Apunta lo que hiciste hoy",
        "Quita de en medio algo que te lo pone difícil",
        "Pide a alguien que te pregunte cómo vas",
    ), "¿Cuándo y dónde podrías dedicarle tiempo cada día?"),
    "quit": ("Dejar un hábito", Ramp("Cede como mucho {n} veces hoy", 5, 0,
                                     "Hoy no cedas ni una vez"), (
        "Fíjate en las primeras ganas del día y apunta la hora",
        "Quítalo de la vista: guárdalo, escóndelo o bórralo",
        "Haz otra cosa durante 10 minutos cuando lleguen las ganas",
        "Cuéntale a alguien lo que estás dejando",
        "Planea qué harás en su lugar en el momento más difícil",
    ), "¿Cuántas veces pasa en un día normal?"),
}
for _topic in (*TOPICS, GENERIC_BUILD, GENERIC_QUIT):
    _es = SPANISH[_topic.key] if _topic.key in SPANISH else SPANISH_GENERIC[_topic.kind]
    _topic.habit["es"], _topic.ramp["es"], _topic.practical["es"], _topic.question["es"] = _es

# Words that make a goal one to quit (any language); matched as words or word starts.
QUIT_WORDS = (
    "stop", "quit", "less", "fewer", "no more", "cut down", "cut back", "give up", "reduce",
    "break", "without", "aufhören", "weniger", "nicht mehr", "abgewöhn", "verzicht", "ohne",
    "dejar", "menos", "arrêter", "moins", "бросить", "меньше", "перестать",
)

QUESTIONS: dict[Kind, dict[Lang, tuple[str, str]]] = {
    "build": {
        "en": ("Why does this matter to you — what will be better once it sticks?",
               "What usually gets in the way?"),
        "de": ("Warum ist dir das wichtig — was wird besser, wenn es klappt?",
               "Was kommt dir dabei normalerweise in die Quere?"),
        "es": ("¿Por qué te importa? ¿Qué irá mejor cuando lo consigas?",
               "¿Qué suele interponerse?"),
    },
    "quit": {
        "en": ("Why do you want to stop — what will be better without it?",
               "What usually triggers it?"),
        "de": ("Warum möchtest du aufhören — was wird ohne es besser?",
               "Was löst es normalerweise aus?"),
        "es": ("¿Por qué quieres dejarlo? ¿Qué irá mejor sin ello?",
               "¿Qué suele desencadenarlo?"),
    },
}

# Reflective tasks; a pair quotes an answer ({why}, {obstacle}, {when}) and has a version for
# when that answer is missing.
Reflect = str | tuple[str, str]
REFLECT: dict[Kind, dict[Lang, tuple[Reflect, ...]]] = {
    "build": {
        "en": (("Remind yourself why: “{why}”", "Write down in one line why this matters"),
               ("Plan one way around “{obstacle}”", "Write down what could get in the way"),
               ("Block the time: {when}", "Choose a fixed time for it today"),
               "Note in one line how it went",
               "Tell someone about your plan",
               "Rate today from 1 to 5 and say why",
               "Give yourself a small reward"),
        "de": (("Erinner dich an dein Warum: „{why}“",
                "Schreib in einem Satz auf, warum es dir wichtig ist"),
               ("Plan einen Weg um „{obstacle}“ herum",
                "Schreib auf, was dazwischenkommen könnte"),
               ("Reservier dir die Zeit: {when}", "Leg heute eine feste Uhrzeit dafür fest"),
               "Notiere in einem Satz, wie es lief",
               "Erzähl jemandem von deinem Plan",
               "Bewerte den Tag von 1 bis 5 und sag warum",
               "Gönn dir eine kleine Belohnung"),
        "es": (("Recuerda por qué: «{why}»", "Escribe en una línea por qué te importa"),
               ("Planea cómo esquivar «{obstacle}»", "Escribe qué podría interponerse"),
               ("Resérvate el momento: {when}", "Elige hoy una hora fija para ello"),
               "Apunta en una línea cómo ha ido",
               "Cuéntale a alguien tu plan",
               "Puntúa el día del 1 al 5 y di por qué",
               "Date un pequeño premio"),
    },
    "quit": {
        "en": (("When the urge comes, remember: “{why}”", "Write down why you want to stop"),
               ("Have a plan ready for “{obstacle}”", "Write down what triggers it"),
               ("Watch out at the risky time: {when}", "Note when the urge was strongest"),
               "Write down each urge and what you did instead",
               "Tell someone how today went",
               "Count the money or time you saved today",
               "Give yourself a small reward for holding on"),
        "de": (("Wenn das Verlangen kommt, denk daran: „{why}“",
                "Schreib auf, warum du aufhören willst"),
               ("Halt einen Plan bereit für „{obstacle}“",
                "Schreib auf, was es bei dir auslöst"),
               ("Pass in der riskanten Zeit auf: {when}",
                "Notiere, wann das Verlangen am stärksten war"),
               "Notiere jedes Verlangen und was du stattdessen getan hast",
               "Erzähl jemandem, wie der Tag lief",
               "Zähl das Geld oder die Zeit, die du heute gespart hast",
               "Belohn dich für dein Durchhalten"),
        "es": (("Cuando lleguen las ganas, recuerda: «{why}»",
                "Escribe por qué quieres dejarlo"),
               ("Ten un plan listo para «{obstacle}»", "Escribe qué lo desencadena"),
               ("Atento al momento de riesgo: {when}",
                "Apunta cuándo fueron más fuertes las ganas"),
               "Apunta cada vez que tuviste ganas y qué hiciste en su lugar",
               "Cuéntale a alguien cómo ha ido el día",
               "Cuenta el dinero o el tiempo que has ahorrado hoy",
               "Date un pequeño premio por aguantar"),
    },
}

_GERMAN = re.compile(
    r"[äöüß]|\b(ich|mehr|weniger|nicht|möchte|will|jeden|täglich|und|mit|mein|meine|meiner|"
    r"meinen|zu|sein|der|das|ein|eine|besser|öfter|aufhören|lesen|schlafen|lernen|trinken|"
    r"rauchen)\b",
    re.IGNORECASE,
)
_ENGLISH = re.compile(
    r"\b(i|want|more|less|stop|to|the|my|every|day|read|sleep|quit|start|get|be)\b",
    re.IGNORECASE,
)


_SPANISH = re.compile(
    r"[ñ¿¡áéíóú]|\b(quiero|quisiera|más|menos|dejar|de|la|el|los|las|mi|mis|cada|día|"
    r"leer|dormir|beber|fumar|comer|hacer|estudiar|aprender|meditar|para|con|por|y)\b",
    re.IGNORECASE,
)


def detect_language(text: str) -> Lang:
    """The language of the goal among those the templates are written in (English otherwise)."""
    scores: dict[Lang, int] = {
        "en": len(_ENGLISH.findall(text)),
        "de": len(_GERMAN.findall(text)),
        "es": len(_SPANISH.findall(text)),
    }
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] > scores["en"] else "en"


def _word_start(word: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(word))


def _has(text: str, word: str) -> bool:
    return _word_start(word).search(text) is not None


def classify(goal: str) -> Topic:
    """The kind of goal the words name, and whether it is a habit to build or to quit."""
    text = goal.casefold()
    quitting = any(_has(text, w) for w in QUIT_WORDS)
    best: Topic | None = None
    best_at = len(text) + 1
    for topic in TOPICS:
        # The topic named first wins ("read instead of scrolling" is about reading).
        hits = [m.start() for w in topic.keywords if (m := _word_start(w).search(text))]
        if hits and min(hits) < best_at:
            best, best_at = topic, min(hits)
    if best is None:
        return GENERIC_QUIT if quitting else GENERIC_BUILD
    return best


def questions(topic: Topic, lang: Lang) -> list[str]:
    why, obstacle = QUESTIONS[topic.kind][lang]
    return [why, obstacle, topic.question[lang]]


def _quote(answer: str, limit: int = 40) -> str:
    answer = " ".join(answer.split()).strip(" .!?,;:\"'“”„")
    return answer if len(answer) <= limit else answer[: limit - 1].rstrip() + "…"


def _baseline(answer: str) -> int | None:
    found = re.search(r"\d{1,3}", answer)
    return int(found.group()) if found else None


def _ramp(ramp: Ramp, start: int, day: int, days: int) -> str:
    share = day / (days - 1) if days > 1 else 1.0
    amount = round(start + (ramp.end - start) * share)
    if amount <= 0 and ramp.zero:
        return ramp.zero
    return ramp.text.format(n=max(amount, 1))


def builtin_plan(
    goal: str,
    answers: list[str],
    days: int,
    variant: int = 0,
    lang: Lang | None = None,
) -> PlanDraft:
    """A plan of `days` days with three tasks each; `variant` gives another version."""
    topic = classify(goal)
    lang = lang or detect_language(goal)
    padded = [*answers, "", "", ""]
    why, obstacle, when = (_quote(a) for a in padded[:3])
    ramp = topic.ramp[lang]
    start = ramp.start
    if topic.baseline and (typed := _baseline(padded[2])) is not None and typed > ramp.end:
        start = typed
    practical = topic.practical[lang]
    reflect = REFLECT[topic.kind][lang]
    out: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    for day in range(days):
        main = _ramp(ramp, start, day, days)
        helper = practical[(day + 2 * variant) % len(practical)]
        entry = reflect[(day + 3 * variant) % len(reflect)]
        with_answer, without = entry if isinstance(entry, tuple) else (entry, entry)
        fill = {"why": why, "obstacle": obstacle, "when": when}
        needed = [k for k in fill if "{" + k + "}" in with_answer]
        note = with_answer.format(**fill) if all(fill[k] for k in needed) else without
        tasks = [main, helper, note]
        key = tuple(sorted(t.casefold() for t in tasks))
        if key in seen:  # only on long plans whose amount stalls: say which day it is
            tasks[0] = f"{main} ({DAY_WORD[lang]} {day + 1})"
            key = tuple(sorted(t.casefold() for t in tasks))
        seen.add(key)
        out.append([t[:MAX_TASK] for t in tasks][:TASKS_PER_DAY])
    return PlanDraft(kind=topic.kind, habit=habit_name(goal, topic, lang), days=out)


DAY_WORD: dict[Lang, str] = {"en": "day", "de": "Tag", "es": "día"}

_FILLER = re.compile(
    r"^(i\s+(really\s+)?(want|would like|need)\s+to|i'd like to|ich\s+(will|möchte)|quiero|"
    r"please|help me)\s+",
    re.IGNORECASE,
)


def habit_name(goal: str, topic: Topic, lang: Lang) -> str:
    """The topic's name, or for a goal no template knows, the goal in its own words."""
    if topic.key != "generic":
        return topic.habit[lang]
    words = _FILLER.sub("", " ".join(goal.split())).strip(" .!?").lstrip("#/")
    name = (words[:1].upper() + words[1:])[:40].strip()
    return name or topic.habit[lang]
