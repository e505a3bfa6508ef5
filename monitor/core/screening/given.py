"""Very common given names in Latin letters: weighed little in a match, never each other."""

from __future__ import annotations

import logging

__all__ = ["GIVEN_NAMES", "distinct_given", "is_common_given"]

logger = logging.getLogger(__name__)

#: given names borne by very many people across Europe, the Americas, the Middle East and
#: Central Asia, as `normalize.tokens` spells them (accents removed, variants folded: the
#: Arabic and Russian variants in `normalize` are one name each). Masculine and feminine
#: forms (Mario, Maria) are both listed: they are different names. Written for this module
#: from general knowledge of name frequencies; not taken from a data set.
GIVEN_NAMES = frozenset(
    """
    james john robert michael william david richard joseph thomas charles christopher daniel
    matthew anthony mark donald steven paul andrew joshua kenneth kevin brian george timothy
    ronald edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin
    scott brandon benjamin samuel gregory alexander frank patrick raymond jack dennis jerry
    tyler aaron jose adam nathan henry peter zachary douglas harold kyle noah ethan jeremy
    walter christian keith roger terry austin sean gerald carl dylan harry arthur lawrence
    jordan jesse bryan billy bruce gabriel joe logan albert willie alan eugene russell
    vincent philip bobby johnny bradley roy ralph louis randy wayne mary patricia jennifer
    linda elizabeth barbara susan jessica sarah karen lisa nancy betty sandra margaret
    ashley kimberly emily donna michelle carol amanda melissa deborah stephanie dorothy
    rebecca sharon laura cynthia amy kathleen angela shirley brenda emma anna pamela nicole
    samantha katherine christine helen debra rachel carolyn janet maria catherine heather
    diane olivia julie joyce victoria ruth virginia lauren kelly christina joan evelyn judith
    andrea hannah megan cheryl jacqueline martha madison teresa gloria sara janice ann
    kathryn abigail sophia frances jean alice judy isabella julia grace amber denise danielle
    marilyn beverly charlotte natalie theresa diana brittany doris kayla alexis lori marie
    juan carlos luis jorge pedro miguel manuel francisco antonio javier alejandro fernando
    ricardo rafael sergio pablo diego andres eduardo roberto mario julio alberto raul oscar
    ramon enrique hector ruben victor ana carmen rosa isabel lucia sofia paula elena laura
    marta cristina pilar dolores mercedes teresa patricia raquel beatriz silvia monica
    joao paulo marcos lucas mateus gabriela fernanda juliana mariana camila beatriz
    jean pierre michel philippe alain nicolas francois jacques bernard christophe frederic
    sebastien laurent olivier julien marie nathalie isabelle sylvie catherine sophie claire
    hans peter klaus jurgen wolfgang uwe dieter stefan andreas thomas markus lukas jonas leon
    felix maximilian ursula monika petra sabine claudia susanne birgit katharina lena
    giuseppe giovanni francesco luca marco alessandro matteo lorenzo andrea stefano
    giulia chiara francesca federica valentina alessia
    aleksandr aleksey sergey andrey yury dmitry yevgeny ivan vladimir nikolay mikhail pavel
    igor oleg viktor maksim anton roman artem denis kirill nikita boris konstantin vasily
    yelena natalya olga tatyana irina svetlana anastasia marina yekaterina lyudmila galina
    nadezhda valentina oksana yuliya darya
    muhammad ahmad ali umar hasan husayn mahmud mustafa khalid abdullah ibrahim yusuf
    ismail hamid karim tariq said yasir usama hamza bilal jamal rashid nasir samir walid
    fatima aisha khadija zainab maryam amina nadia layla nour huda salma yasmin
    mehmet mustafa ahmet hasan huseyin ibrahim ismail osman yusuf murat emre ayse
    emine hatice zeynep elif
    daniela ivana adrian adriana alexandra carla carlo juliana antonia roberta luisa
    cristian simona simone paola nicola nicole
    piotr krzysztof andrzej tomasz pawel jan marcin michal anna katarzyna malgorzata agnieszka
    """.split()
)


def is_common_given(token: str) -> bool:
    """True when `token` is one of the very common given names of `GIVEN_NAMES`."""
    return token in GIVEN_NAMES


def distinct_given(a: str, b: str) -> bool:
    """True when `a` and `b` are both common given names and not the same one: however few
    letters apart, they name different people (Maria and Mario, Daniel and Daniela)."""
    return a != b and a in GIVEN_NAMES and b in GIVEN_NAMES
